// Reads one call's arguments into an op's descriptor, driven by the
// descriptor's own field list (ops::FieldVisitor): JavaScript passes the
// fields positionally, in the order that list gives (lib/native.ts builds
// the order from names()). Every value is checked here, the last line of
// defence behind the TypeScript facade, which has already produced the
// user-facing errors: types, integer ranges, array lengths, and overlap
// between outputs and other arrays on the real addresses (which also
// catches two buffer objects over the same memory, e.g. a
// SharedArrayBuffer that came back through postMessage). The first failure
// throws a JS error and makes every later read a no-op.
#pragma once
#include <node_api.h>

#include <cstdint>
#include <string>

#include "../ops/op.h"

namespace instnorm {
namespace binding {

// One array argument, for the overlap check and for async calls.
struct ArrayArg {
  const char* name;
  int field;          // position among the op's fields
  napi_value value;   // the typed array
  void** slot;        // the descriptor's pointer to it (redirected to a copy by async calls)
  void* data;
  int64_t bytes;
  bool input, output;
  bool shared;        // backed by a SharedArrayBuffer (cannot be detached)
  const char* may_equal[2];
};

class ArgReader final : public ops::FieldVisitor {
 public:
  static constexpr int kMaxArrays = 16;

  // `async`: also find out which arrays are on a SharedArrayBuffer (an
  // async call copies the others).
  ArgReader(napi_env env, const napi_value* args, size_t argc, const char* op, bool async);

  void dim(const char* name, int64_t& v) override;
  void integer(const char* name, int64_t& v, int64_t lo, int64_t hi) override;
  void number(const char* name, double& v) override;
  void flag(const char* name, bool& v) override;
  void in(const char* name, const float*& p, int64_t len, ops::Need need) override;
  void in(const char* name, const double*& p, int64_t len, ops::Need need) override;
  void in(const char* name, const int32_t*& p, int64_t len, ops::Need need) override;
  void out(const char* name, float*& p, int64_t len, ops::Need need,
           std::initializer_list<const char*> may_equal) override;
  void out(const char* name, double*& p, int64_t len, ops::Need need) override;
  void inout(const char* name, float*& p, int64_t len, ops::Need need, bool written) override;

  // After the fields: the descriptor's own check (nullptr or a message),
  // then the overlap check. False when a JS error is pending.
  bool finish(const char* check_message);

  bool ok() const { return ok_; }
  int array_count() const { return n_arrays_; }
  const ArrayArg& array(int i) const { return arrays_[i]; }

 private:
  napi_value next(const char* name);
  template <class T>
  void array(const char* name, T*& p, napi_typedarray_type want, const char* type_name, int64_t len,
             ops::Need need, bool input, bool output, std::initializer_list<const char*> may_equal);
  void fail_type(const std::string& m);
  void fail_range(const std::string& m);

  napi_env env_;
  const napi_value* args_;
  size_t argc_, pos_ = 0;
  const char* op_;
  bool async_;
  bool ok_ = true;
  ArrayArg arrays_[kMaxArrays];
  int n_arrays_ = 0;
};

}  // namespace binding
}  // namespace instnorm
