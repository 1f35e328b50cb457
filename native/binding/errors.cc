#include "errors.h"

namespace instnorm {
namespace binding {

napi_value tagged_error(napi_env env, ErrorKind kind, const std::string& message,
                        std::initializer_list<const char*> fields) {
  napi_value msg, err, list;
  napi_create_string_utf8(env, message.c_str(), message.size(), &msg);
  if (kind == ErrorKind::kType) {
    napi_create_type_error(env, nullptr, msg, &err);
  } else {
    napi_create_range_error(env, nullptr, msg, &err);
  }
  napi_create_array_with_length(env, fields.size(), &list);
  uint32_t i = 0;
  for (const char* f : fields) {
    napi_value s;
    napi_create_string_utf8(env, f, NAPI_AUTO_LENGTH, &s);
    napi_set_element(env, list, i++, s);
  }
  napi_set_named_property(env, err, "instnormFields", list);
  return err;
}

}  // namespace binding
}  // namespace instnorm
