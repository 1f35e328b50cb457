// The N-API binding: thin. It unwraps typed arrays without copying (the
// kernels read and write the caller's memory, at its byteOffset), re-checks
// lengths as a last line of defence (the TypeScript facade has already
// validated everything and produced the user-facing errors), and calls the
// ops layer. Per-environment state lives in the Addon instance, so the
// module can be loaded by several worker_threads at once.
#include <napi.h>

#include <cmath>
#include <climits>
#include <cstdint>
#include <exception>
#include <initializer_list>
#include <string>

#include "kernels/dispatch.h"
#include "ops/group_norm.h"
#include "ops/layer_norm.h"
#include "ops/planes.h"
#include "runtime/thread_pool.h"

namespace instnorm {
namespace {

// A Float32Array argument (or null/undefined when `optional`), with at least
// `need` elements. Throws a JS TypeError and returns false otherwise.
// A typed array argument of the given type (or null/undefined when
// `optional`), with at least `need` elements. Throws a JS TypeError or
// RangeError and returns false otherwise.
template <class T>
bool unwrap_array(napi_env env, napi_value v, napi_typedarray_type want, const char* type_name,
                  int64_t need, bool optional, const char* name, T** out) {
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  // One N-API call in the common case: it fails for anything that is not a
  // typed array, and only then is the value's type looked at.
  if (napi_get_typedarray_info(env, v, &type, &length, &data, nullptr, nullptr) != napi_ok) {
    napi_valuetype t;
    if (optional && napi_typeof(env, v, &t) == napi_ok && (t == napi_null || t == napi_undefined)) {
      *out = nullptr;
      return true;
    }
    napi_throw_type_error(env, nullptr, (std::string(name) + " must be a " + type_name).c_str());
    return false;
  }
  if (type != want) {
    napi_throw_type_error(env, nullptr, (std::string(name) + " must be a " + type_name).c_str());
    return false;
  }
  if (static_cast<uint64_t>(length) < static_cast<uint64_t>(need) ||
      (need > 0 && data == nullptr)) {
    napi_throw_range_error(env, nullptr,
                           (std::string(name) + " is too short").c_str());
    return false;
  }
  *out = static_cast<T*>(data);
  return true;
}

// A region of a caller's memory, for the overlap check.
struct Span {
  const void* p;
  int64_t bytes;
  const char* name;
};

bool overlap(const Span& a, const Span& b) {
  if (!a.p || !b.p) return false;
  const uintptr_t a0 = reinterpret_cast<uintptr_t>(a.p), b0 = reinterpret_cast<uintptr_t>(b.p);
  return a0 < b0 + static_cast<uint64_t>(b.bytes) && b0 < a0 + static_cast<uint64_t>(a.bytes);
}

// Typed arrays an async call must keep alive until it settles.
struct KeepAlive {
  napi_value values[8];
  int count = 0;
  void add(napi_env env, napi_value v) {
    napi_valuetype t;
    if (count < 8 && napi_typeof(env, v, &t) == napi_ok && t == napi_object) values[count++] = v;
  }
};

// Reads one call's arguments in order. The first failure throws a JS error
// and makes every later read a no-op, so a parser is a straight list of
// reads followed by one ok() check. It also records every array for the
// overlap check and for keeping alive during an async call.
class Args {
 public:
  Args(const Napi::CallbackInfo& info, size_t arity) : info_(info), env_(info.Env()) {
    if (info.Length() < arity) fail_type("wrong number of arguments");
  }
  bool ok() const { return ok_; }

  int64_t dim(size_t i, const char* name) {
    double d = 0.0;
    if (ok_ && (napi_get_value_double(env_, info_[i], &d) != napi_ok || !(d >= 1.0) ||
                d > 9007199254740991.0 || d != static_cast<double>(static_cast<int64_t>(d)))) {
      fail_range(std::string(name) + " must be a positive integer");
    }
    return ok_ ? static_cast<int64_t>(d) : 1;
  }
  // a*b for dims, refusing overflow.
  int64_t mul(int64_t a, int64_t b) {
    if (ok_ && b > INT64_MAX / a) fail_range("the shape's element count overflows");
    return ok_ ? a * b : 1;
  }
  double number(size_t i, const char* name) {
    double d = 0.0;
    if (ok_ && (napi_get_value_double(env_, info_[i], &d) != napi_ok || !std::isfinite(d))) {
      fail_range(std::string(name) + " must be a finite number");
    }
    return d;
  }
  double eps(size_t i) {
    const double e = number(i, "eps");
    if (ok_ && !(e >= 0.0)) fail_range("eps must be a finite number >= 0");
    return e;
  }
  bool boolean(size_t i, const char* name) {
    bool b = false;
    if (ok_ && napi_get_value_bool(env_, info_[i], &b) != napi_ok) fail_type(std::string(name) + " must be a boolean");
    return b;
  }
  float* f32(size_t i, int64_t need, const char* name, bool optional = false) {
    return array<float>(i, napi_float32_array, "Float32Array", need, name, optional);
  }
  double* f64(size_t i, int64_t need, const char* name) {
    return array<double>(i, napi_float64_array, "Float64Array", need, name, false);
  }
  const float* in(size_t i, int64_t need, const char* name, bool optional = false) {
    float* p = f32(i, need, name, optional);
    if (ok_) add_span(inputs_, n_in_, {p, need * 4, name});
    return p;
  }
  float* out(size_t i, int64_t need, const char* name, bool optional = false) {
    float* p = f32(i, need, name, optional);
    if (ok_) add_span(outputs_, n_out_, {p, need * 4, name});
    return p;
  }
  double* out64(size_t i, int64_t need, const char* name) {
    double* p = f64(i, need, name);
    if (ok_) add_span(outputs_, n_out_, {p, need * 8, name});
    return p;
  }

  // Outputs must not overlap each other or the inputs, except that the
  // first output may be exactly one of the first `in_place` inputs. The
  // facade checks this by ArrayBuffer identity; this check, on the real
  // addresses, also catches two buffer objects over the same memory (e.g.
  // a SharedArrayBuffer that came back through postMessage).
  bool check_overlap(int in_place) {
    if (!ok_) return false;
    for (int i = 0; i < n_out_; ++i) {
      for (int j = i + 1; j < n_out_; ++j) {
        if (overlap(outputs_[i], outputs_[j])) {
          fail_range(std::string(outputs_[i].name) + " and " + outputs_[j].name + " must not share memory");
          return false;
        }
      }
      for (int j = 0; j < n_in_; ++j) {
        if (!overlap(outputs_[i], inputs_[j])) continue;
        if (i == 0 && j < in_place && outputs_[i].p == inputs_[j].p && outputs_[i].bytes == inputs_[j].bytes) continue;
        fail_range(std::string(outputs_[i].name) + " must not share memory with " + inputs_[j].name);
        return false;
      }
    }
    return true;
  }

  void keep_arrays(KeepAlive* keep, std::initializer_list<int> which) const {
    for (int i : which) keep->add(env_, info_[i]);
  }

 private:
  template <class T>
  T* array(size_t i, napi_typedarray_type want, const char* type_name, int64_t need, const char* name,
           bool optional) {
    T* p = nullptr;
    if (ok_ && !unwrap_array<T>(env_, info_[i], want, type_name, need, optional, name, &p)) ok_ = false;
    return p;
  }
  void add_span(Span* list, int& n, const Span& s) {
    if (n < kMaxSpans) list[n++] = s;
  }
  void fail_range(const std::string& m) {
    napi_throw_range_error(env_, nullptr, m.c_str());
    ok_ = false;
  }
  void fail_type(const std::string& m) {
    napi_throw_type_error(env_, nullptr, m.c_str());
    ok_ = false;
  }

  static constexpr int kMaxSpans = 8;
  const Napi::CallbackInfo& info_;
  napi_env env_;
  bool ok_ = true;
  Span inputs_[kMaxSpans], outputs_[kMaxSpans];
  int n_in_ = 0, n_out_ = 0;
};

// (x, y, N, G, cpg, M, gamma?, beta?, perSample, blend, eps, mean?, rstd?)
bool parse_gn_forward(const Napi::CallbackInfo& info, int threads, ops::GroupNormForward* a,
                      KeepAlive* keep) {
  Args r(info, 13);
  a->n = r.dim(2, "N");
  a->g = r.dim(3, "G");
  a->cpg = r.dim(4, "cpg");
  a->m = r.dim(5, "M");
  const int64_t c = r.mul(a->g, a->cpg), groups = r.mul(a->n, a->g);
  const int64_t numel = r.mul(r.mul(groups, a->cpg), a->m);
  a->per_sample = r.boolean(8, "perSample");
  const int64_t affine_len = a->per_sample ? r.mul(a->n, c) : c;
  a->y = r.out(1, numel, "out");
  a->x = r.in(0, numel, "x");
  a->gamma = r.in(6, affine_len, "gamma", true);
  a->beta = r.in(7, affine_len, "beta", true);
  a->blend = r.number(9, "blend");
  a->eps = r.eps(10);
  a->mean = r.out(11, groups, "mean", true);
  a->rstd = r.out(12, groups, "rstd", true);
  a->threads = threads;
  if (!r.check_overlap(1)) return false;
  r.keep_arrays(keep, {0, 1, 6, 7, 11, 12});
  return true;
}

// (dy, x, dx, dgamma, dbeta, N, G, cpg, M, gamma?, perSample, blend, mean?, rstd?, eps)
bool parse_gn_backward(const Napi::CallbackInfo& info, int threads, ops::GroupNormBackward* a,
                       KeepAlive* keep) {
  Args r(info, 15);
  a->n = r.dim(5, "N");
  a->g = r.dim(6, "G");
  a->cpg = r.dim(7, "cpg");
  a->m = r.dim(8, "M");
  const int64_t c = r.mul(a->g, a->cpg), groups = r.mul(a->n, a->g);
  const int64_t numel = r.mul(r.mul(groups, a->cpg), a->m);
  a->per_sample = r.boolean(10, "perSample");
  const int64_t affine_len = a->per_sample ? r.mul(a->n, c) : c;
  a->dx = r.out(2, numel, "dx");
  a->dgamma = r.out(3, affine_len, "dgamma");
  a->dbeta = r.out(4, affine_len, "dbeta");
  a->dy = r.in(0, numel, "dy");
  a->x = r.in(1, numel, "x");
  a->gamma = r.in(9, affine_len, "gamma", true);
  a->blend = r.number(11, "blend");
  a->mean = r.in(12, groups, "mean", true);
  a->rstd = r.in(13, groups, "rstd", true);
  a->eps = r.eps(14);
  a->threads = threads;
  if (!r.check_overlap(2)) return false;
  r.keep_arrays(keep, {0, 1, 2, 3, 4, 9, 12, 13});
  return true;
}

// (x, y, R, L, gamma?, beta?, eps, mean?, rstd?)
bool parse_ln_forward(const Napi::CallbackInfo& info, int threads, ops::LayerNormForward* a) {
  Args r(info, 9);
  a->rows = r.dim(2, "R");
  a->len = r.dim(3, "L");
  const int64_t numel = r.mul(a->rows, a->len);
  a->y = r.out(1, numel, "out");
  a->x = r.in(0, numel, "x");
  a->gamma = r.in(4, a->len, "gamma", true);
  a->beta = r.in(5, a->len, "beta", true);
  a->eps = r.eps(6);
  a->mean = r.out(7, a->rows, "mean", true);
  a->rstd = r.out(8, a->rows, "rstd", true);
  a->threads = threads;
  return r.check_overlap(1);
}

// (dy, x, dx, dgamma, dbeta, R, L, gamma?, mean?, rstd?, eps)
bool parse_ln_backward(const Napi::CallbackInfo& info, int threads, ops::LayerNormBackward* a) {
  Args r(info, 11);
  a->rows = r.dim(5, "R");
  a->len = r.dim(6, "L");
  const int64_t numel = r.mul(a->rows, a->len);
  a->dx = r.out(2, numel, "dx");
  a->dgamma = r.out(3, a->len, "dgamma");
  a->dbeta = r.out(4, a->len, "dbeta");
  a->dy = r.in(0, numel, "dy");
  a->x = r.in(1, numel, "x");
  a->gamma = r.in(7, a->len, "gamma", true);
  a->mean = r.in(8, a->rows, "mean", true);
  a->rstd = r.in(9, a->rows, "rstd", true);
  a->eps = r.eps(10);
  a->threads = threads;
  return r.check_overlap(2);
}

// Statistics primitives: ([dy,] x, runs, len, [channels,] f64 outputs...).
// Channels-last passes N, S, C: runs = N, len = S, results per (n, c).
bool parse_stats(const Napi::CallbackInfo& info, int threads, bool co, bool channels_last,
                 ops::PlaneStatsArgs* a, int64_t* channels) {
  const size_t base = co ? 2 : 1;
  const size_t dims = channels_last ? 3 : 2;
  Args r(info, base + dims + (co ? 4 : 2));
  a->runs = r.dim(base, channels_last ? "N" : "P");
  a->len = r.dim(base + 1, channels_last ? "S" : "L");
  *channels = channels_last ? r.dim(base + 2, "C") : 1;
  const int64_t results = r.mul(a->runs, *channels);
  const int64_t numel = r.mul(results, a->len);
  const size_t o = base + dims;
  a->mean_x = r.out64(o, results, "meanX");
  if (co) {
    a->mean_dy = r.out64(o + 1, results, "meanDy");
    a->m2_x = r.out64(o + 2, results, "m2X");
    a->c_x_dy = r.out64(o + 3, results, "cXDy");
    a->dy = r.in(0, numel, "dy");
    a->x = r.in(1, numel, "x");
  } else {
    a->m2_x = r.out64(o + 1, results, "m2");
    a->x = r.in(0, numel, "x");
  }
  a->threads = threads;
  return r.check_overlap(0);
}

// Apply primitives: ([dy,] x, out, runs, len, [channels,] coefficients...).
bool parse_apply(const Napi::CallbackInfo& info, int threads, bool backward, bool channels_last,
                 ops::PlaneApplyArgs* a, int64_t* channels) {
  const size_t base = backward ? 3 : 2;
  const size_t dims = channels_last ? 3 : 2;
  const int n_coef = backward ? 5 : 3;
  Args r(info, base + dims + n_coef);
  a->runs = r.dim(base, channels_last ? "N" : "P");
  a->len = r.dim(base + 1, channels_last ? "S" : "L");
  *channels = channels_last ? r.dim(base + 2, "C") : 1;
  const int64_t results = r.mul(a->runs, *channels);
  const int64_t numel = r.mul(results, a->len);
  static const char* const kNames[2][5] = {{"sub", "scale", "shift", "", ""},
                                           {"dySub", "xSub", "a", "b", "c"}};
  a->out = r.out(base - 1, numel, backward ? "dx" : "out");
  if (backward) a->dy = r.in(0, numel, "dy");
  a->x = r.in(backward ? 1 : 0, numel, "x");
  for (int i = 0; i < n_coef; ++i) a->coef[i] = r.in(base + dims + i, results, kNames[backward][i]);
  a->threads = threads;
  return r.check_overlap(backward ? 2 : 1);
}

// Runs one op on a libuv thread. The typed arrays are referenced until the
// promise settles, so the memory the kernel works on cannot be collected.
template <class Args, void (*Run)(const kernels::KernelTable&, const Args&)>
class OpWorker : public Napi::AsyncWorker {
 public:
  OpWorker(Napi::Env env, const kernels::KernelTable* table, const Args& args,
           const KeepAlive& keep)
      : Napi::AsyncWorker(env, "instnorm"),
        deferred_(Napi::Promise::Deferred::New(env)),
        table_(table),
        args_(args) {
    for (int i = 0; i < keep.count; ++i) {
      refs_[i] = Napi::Persistent(Napi::Object(env, keep.values[i]));
    }
  }
  Napi::Promise Promise() const { return deferred_.Promise(); }
  void Execute() override {
    try {
      Run(*table_, args_);
    } catch (const std::exception& e) {  // bad_alloc of the scratch buffers
      SetError(std::string("instnorm: ") + e.what());
    }
  }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  const kernels::KernelTable* table_;
  Args args_;
  Napi::ObjectReference refs_[8];
};

using ForwardWorker = OpWorker<ops::GroupNormForward, ops::group_norm_forward>;
using BackwardWorker = OpWorker<ops::GroupNormBackward, ops::group_norm_backward>;

class Addon : public Napi::Addon<Addon> {
 public:
  Addon(Napi::Env, Napi::Object exports) {
    const kernels::KernelTable* tables[kernels::kMaxTables];
    kernels::supported_tables(tables);
    table_ = tables[0];
    DefineAddon(exports,
                {InstanceMethod("isas", &Addon::Isas),
                 InstanceMethod("isa", &Addon::Isa),
                 InstanceMethod("setIsa", &Addon::SetIsa),
                 InstanceMethod("threads", &Addon::Threads),
                 InstanceMethod("setThreads", &Addon::SetThreads),
                 InstanceMethod("groupNormForward", &Addon::Forward),
                 InstanceMethod("groupNormBackward", &Addon::Backward),
                 InstanceMethod("groupNormForwardAsync", &Addon::ForwardAsync),
                 InstanceMethod("groupNormBackwardAsync", &Addon::BackwardAsync),
                 InstanceMethod("layerNormForward", &Addon::LayerForward),
                 InstanceMethod("layerNormBackward", &Addon::LayerBackward),
                 InstanceMethod("planeMoments", &Addon::Stats<false, false>),
                 InstanceMethod("planeCoMoments", &Addon::Stats<true, false>),
                 InstanceMethod("channelsLastMoments", &Addon::Stats<false, true>),
                 InstanceMethod("channelsLastCoMoments", &Addon::Stats<true, true>),
                 InstanceMethod("planeAffine", &Addon::Apply<false, false>),
                 InstanceMethod("planeBackwardApply", &Addon::Apply<true, false>),
                 InstanceMethod("channelsLastAffine", &Addon::Apply<false, true>),
                 InstanceMethod("channelsLastBackwardApply", &Addon::Apply<true, true>)});
  }

 private:
  // Supported ISAs, best first.
  Napi::Value Isas(const Napi::CallbackInfo& info) {
    const kernels::KernelTable* tables[kernels::kMaxTables];
    const int count = kernels::supported_tables(tables);
    Napi::Array out = Napi::Array::New(info.Env(), count);
    for (int i = 0; i < count; ++i) out.Set(i, tables[i]->isa);
    return out;
  }

  Napi::Value Isa(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), table_->isa);
  }

  // setIsa(name): true if this CPU supports it (and it is now in use).
  Napi::Value SetIsa(const Napi::CallbackInfo& info) {
    if (info.Length() < 1 || !info[0].IsString()) {
      Napi::TypeError::New(info.Env(), "isa must be a string").ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
    const kernels::KernelTable* t =
        kernels::find_table(info[0].As<Napi::String>().Utf8Value().c_str());
    if (t) table_ = t;
    return Napi::Boolean::New(info.Env(), t != nullptr);
  }

  Napi::Value Threads(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), threads_);
  }

  Napi::Value SetThreads(const Napi::CallbackInfo& info) {
    Args r(info, 1);
    const int64_t n = r.dim(0, "threads");
    if (!r.ok()) return Throw(info);
    if (n > kMaxThreads) {
      Napi::RangeError::New(info.Env(), "threads must be at most 1024").ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
    threads_ = static_cast<int>(n);
    return info.Env().Undefined();
  }

  Napi::Value Forward(const Napi::CallbackInfo& info) {
    ops::GroupNormForward a{};
    KeepAlive keep;
    if (!parse_gn_forward(info, threads_, &a, &keep)) return Throw(info);
    return Run(info, [&] { ops::group_norm_forward(*table_, a); });
  }

  Napi::Value Backward(const Napi::CallbackInfo& info) {
    ops::GroupNormBackward a{};
    KeepAlive keep;
    if (!parse_gn_backward(info, threads_, &a, &keep)) return Throw(info);
    return Run(info, [&] { ops::group_norm_backward(*table_, a); });
  }

  Napi::Value LayerForward(const Napi::CallbackInfo& info) {
    ops::LayerNormForward a{};
    if (!parse_ln_forward(info, threads_, &a)) return Throw(info);
    return Run(info, [&] { ops::layer_norm_forward(*table_, a); });
  }

  Napi::Value LayerBackward(const Napi::CallbackInfo& info) {
    ops::LayerNormBackward a{};
    if (!parse_ln_backward(info, threads_, &a)) return Throw(info);
    return Run(info, [&] { ops::layer_norm_backward(*table_, a); });
  }

  template <bool kCo, bool kChannelsLast>
  Napi::Value Stats(const Napi::CallbackInfo& info) {
    ops::PlaneStatsArgs a{};
    int64_t channels = 1;
    if (!parse_stats(info, threads_, kCo, kChannelsLast, &a, &channels)) return Throw(info);
    return Run(info, [&] {
      if (kChannelsLast) {
        kCo ? ops::channels_last_co_moments(*table_, a, channels) : ops::channels_last_moments(*table_, a, channels);
      } else {
        kCo ? ops::plane_co_moments(*table_, a) : ops::plane_moments(*table_, a);
      }
    });
  }

  template <bool kBackward, bool kChannelsLast>
  Napi::Value Apply(const Napi::CallbackInfo& info) {
    ops::PlaneApplyArgs a{};
    int64_t channels = 1;
    if (!parse_apply(info, threads_, kBackward, kChannelsLast, &a, &channels)) return Throw(info);
    return Run(info, [&] {
      if (kChannelsLast) {
        kBackward ? ops::channels_last_backward_apply(*table_, a, channels)
                  : ops::channels_last_affine(*table_, a, channels);
      } else {
        kBackward ? ops::plane_backward_apply(*table_, a) : ops::plane_affine(*table_, a);
      }
    });
  }

  Napi::Value ForwardAsync(const Napi::CallbackInfo& info) {
    return Queue<ForwardWorker, ops::GroupNormForward>(info, parse_gn_forward);
  }

  Napi::Value BackwardAsync(const Napi::CallbackInfo& info) {
    return Queue<BackwardWorker, ops::GroupNormBackward>(info, parse_gn_backward);
  }

  // Parses the arguments as the sync call does, then queues the op on a
  // libuv worker and returns its promise.
  template <class Worker, class Args>
  Napi::Value Queue(const Napi::CallbackInfo& info,
                    bool (*parse)(const Napi::CallbackInfo&, int, Args*, KeepAlive*)) {
    Args a{};
    KeepAlive keep;
    if (!parse(info, threads_, &a, &keep)) return Throw(info);
    auto* w = new Worker(info.Env(), table_, a, keep);
    Napi::Promise p = w->Promise();
    w->Queue();
    return p;
  }

  // Runs an op; a C++ exception (bad_alloc of scratch buffers) must not
  // cross into N-API frames, so it becomes a JS RangeError.
  template <class F>
  static Napi::Value Run(const Napi::CallbackInfo& info, F f) {
    try {
      f();
    } catch (const std::exception& e) {
      napi_throw_range_error(info.Env(), nullptr, (std::string("instnorm: ") + e.what()).c_str());
    }
    return info.Env().Undefined();
  }

  // An exception is pending (or the arity was wrong): make sure one is.
  static Napi::Value Throw(const Napi::CallbackInfo& info) {
    bool pending = false;
    napi_is_exception_pending(info.Env(), &pending);
    if (!pending) {
      napi_throw_type_error(info.Env(), nullptr, "wrong number of arguments");
    }
    return info.Env().Undefined();
  }

  static constexpr int64_t kMaxThreads = 1024;
  const kernels::KernelTable* table_;
  int threads_ = 1;
};

}  // namespace
}  // namespace instnorm

using InstnormAddon = instnorm::Addon;
NODE_API_ADDON(InstnormAddon)
