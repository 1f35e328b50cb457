// Errors that name descriptor fields: the facade (lib/call.ts) rewrites
// their messages with the public function's name and its arguments' names
// (the descriptor's `gamma` is conditionalInstanceNorm's gammaTable), using
// the `instnormFields` property these carry.
#pragma once
#include <node_api.h>

#include <initializer_list>
#include <string>

namespace instnorm {
namespace binding {

enum class ErrorKind { kType, kRange };

// A JS error of `kind` with `message`, tagged with the field names it cites.
napi_value tagged_error(napi_env env, ErrorKind kind, const std::string& message,
                        std::initializer_list<const char*> fields);

}  // namespace binding
}  // namespace instnorm
