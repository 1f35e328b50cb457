#include "reader.h"

#include "errors.h"

#include <cmath>
#include <cstring>

namespace instnorm {
namespace binding {

ArgReader::ArgReader(napi_env env, const napi_value* args, size_t argc, const char* op, bool async)
    : env_(env), args_(args), argc_(argc), op_(op), async_(async) {}

void ArgReader::fail_type(const std::string& m) {
  if (ok_) napi_throw_type_error(env_, nullptr, ("instnorm: " + std::string(op_) + ": " + m).c_str());
  ok_ = false;
}

void ArgReader::fail_range(const std::string& m) {
  if (ok_) napi_throw_range_error(env_, nullptr, ("instnorm: " + std::string(op_) + ": " + m).c_str());
  ok_ = false;
}

napi_value ArgReader::next(const char* name) {
  if (!ok_) return nullptr;
  if (pos_ >= argc_) {
    fail_type(std::string("missing argument ") + name);
    return nullptr;
  }
  return args_[pos_++];
}

void ArgReader::dim(const char* name, int64_t& v) { integer(name, v, 1, INT64_MAX); }

void ArgReader::integer(const char* name, int64_t& v, int64_t lo, int64_t hi) {
  napi_value a = next(name);
  if (!a) return;
  double d = 0.0;
  if (napi_get_value_double(env_, a, &d) != napi_ok) return fail_type(std::string(name) + " must be a number");
  // Integers beyond 2^53 cannot be told apart in a double: refused.
  if (!(d >= static_cast<double>(lo)) || d > 9007199254740991.0 || d > static_cast<double>(hi) ||
      d != std::floor(d)) {
    return fail_range(std::string(name) + " must be an integer in [" + std::to_string(lo) + ", " +
                      (hi == INT64_MAX ? std::string("2^53") : std::to_string(hi)) + "]");
  }
  v = static_cast<int64_t>(d);
}

void ArgReader::number(const char* name, double& v) {
  napi_value a = next(name);
  if (!a) return;
  if (napi_get_value_double(env_, a, &v) != napi_ok) return fail_type(std::string(name) + " must be a number");
  if (!std::isfinite(v)) fail_range(std::string(name) + " must be a finite number");
}

void ArgReader::flag(const char* name, bool& v) {
  napi_value a = next(name);
  if (a && napi_get_value_bool(env_, a, &v) != napi_ok) fail_type(std::string(name) + " must be a boolean");
}

template <class T>
void ArgReader::array(const char* name, T*& p, napi_typedarray_type want, const char* type_name, int64_t len,
                      ops::Need need, bool input, bool output, std::initializer_list<const char*> may_equal) {
  p = nullptr;
  napi_value a = next(name);
  if (!a) return;
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  napi_value buffer;
  // One N-API call in the common case: it fails for anything that is not a
  // typed array, and only then is the value's type looked at.
  if (napi_get_typedarray_info(env_, a, &type, &length, &data, &buffer, nullptr) != napi_ok) {
    napi_valuetype t;
    if (need == ops::Need::kOptional && napi_typeof(env_, a, &t) == napi_ok &&
        (t == napi_null || t == napi_undefined)) {
      return;
    }
    return fail_type(std::string(name) + " must be a " + type_name);
  }
  if (type != want) return fail_type(std::string(name) + " must be a " + type_name);
  if (static_cast<uint64_t>(length) != static_cast<uint64_t>(len) || (len > 0 && data == nullptr)) {
    return fail_range(std::string(name) + " must have " + std::to_string(len) + " elements, got " +
                      std::to_string(length));
  }
  if (n_arrays_ >= kMaxArrays) return fail_type("too many arrays");
  bool plain = true;
  if (async_) napi_is_arraybuffer(env_, buffer, &plain);
  ArrayArg& r = arrays_[n_arrays_++];
  r = {name, static_cast<int>(pos_ - 1), a, reinterpret_cast<void**>(const_cast<typename std::remove_const<T>::type**>(&p)), data,
       len * static_cast<int64_t>(sizeof(T)), input, output, !plain, {nullptr, nullptr}};
  int k = 0;
  for (const char* m : may_equal) {
    if (k < 2) r.may_equal[k++] = m;
  }
  p = static_cast<T*>(data);
}

void ArgReader::in(const char* name, const float*& p, int64_t len, ops::Need need) {
  array(name, p, napi_float32_array, "Float32Array", len, need, true, false, {});
}
void ArgReader::in(const char* name, const double*& p, int64_t len, ops::Need need) {
  array(name, p, napi_float64_array, "Float64Array", len, need, true, false, {});
}
void ArgReader::in(const char* name, const int32_t*& p, int64_t len, ops::Need need) {
  array(name, p, napi_int32_array, "Int32Array", len, need, true, false, {});
}
void ArgReader::out(const char* name, float*& p, int64_t len, ops::Need need,
                    std::initializer_list<const char*> may_equal) {
  array(name, p, napi_float32_array, "Float32Array", len, need, false, true, may_equal);
}
void ArgReader::out(const char* name, double*& p, int64_t len, ops::Need need) {
  array(name, p, napi_float64_array, "Float64Array", len, need, false, true, {});
}
void ArgReader::inout(const char* name, float*& p, int64_t len, ops::Need need, bool written) {
  array(name, p, napi_float32_array, "Float32Array", len, need, true, written, {});
}

namespace {

bool overlap(const ArrayArg& a, const ArrayArg& b) {
  if (a.bytes == 0 || b.bytes == 0) return false;
  const uintptr_t a0 = reinterpret_cast<uintptr_t>(a.data), b0 = reinterpret_cast<uintptr_t>(b.data);
  return a0 < b0 + static_cast<uint64_t>(b.bytes) && b0 < a0 + static_cast<uint64_t>(a.bytes);
}

bool allowed(const ArrayArg& out, const ArrayArg& in) {
  if (out.data != in.data || out.bytes != in.bytes || in.output) return false;
  for (const char* m : out.may_equal) {
    if (m && std::strcmp(m, in.name) == 0) return true;
  }
  return false;
}

}  // namespace

bool ArgReader::finish(const char* check_message) {
  if (!ok_) return false;
  if (pos_ != argc_) {
    fail_type("expected " + std::to_string(pos_) + " fields, got " + std::to_string(argc_));
    return false;
  }
  if (check_message) {
    fail_range(check_message);
    return false;
  }
  // Outputs must not overlap any other array, except an output that is
  // exactly one of the inputs it may replace (an elementwise in-place call).
  for (int i = 0; i < n_arrays_; ++i) {
    const ArrayArg& o = arrays_[i];
    if (!o.output) continue;
    for (int j = 0; j < n_arrays_; ++j) {
      if (j == i || !overlap(o, arrays_[j])) continue;
      if (allowed(o, arrays_[j])) continue;
      napi_throw(env_, tagged_error(env_, ErrorKind::kRange,
                                    "instnorm: " + std::string(op_) + ": " + o.name + " must not share memory with " +
                                        arrays_[j].name,
                                    {o.name, arrays_[j].name}));
      ok_ = false;
      return false;
    }
  }
  return true;
}

}  // namespace binding
}  // namespace instnorm
