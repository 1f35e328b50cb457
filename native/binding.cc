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
#include <string>

#include "kernels/dispatch.h"
#include "ops/instance_norm.h"
#include "runtime/thread_pool.h"

namespace instnorm {
namespace {

// A Float32Array argument (or null/undefined when `optional`), with at least
// `need` elements. Throws a JS TypeError and returns false otherwise.
bool unwrap_f32(napi_env env, napi_value v, int64_t need, bool optional,
                const char* name, float** out) {
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
    napi_throw_type_error(env, nullptr, (std::string(name) + " must be a Float32Array").c_str());
    return false;
  }
  if (type != napi_float32_array) {
    napi_throw_type_error(env, nullptr, (std::string(name) + " must be a Float32Array").c_str());
    return false;
  }
  if (static_cast<uint64_t>(length) < static_cast<uint64_t>(need) ||
      (need > 0 && data == nullptr)) {
    napi_throw_range_error(env, nullptr,
                           (std::string(name) + " is too short").c_str());
    return false;
  }
  *out = static_cast<float*>(data);
  return true;
}

bool unwrap_dim(napi_env env, napi_value v, const char* name, int64_t* out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || !(d >= 1.0) ||
      d > 9007199254740991.0 || d != static_cast<double>(static_cast<int64_t>(d))) {
    napi_throw_range_error(env, nullptr,
                           (std::string(name) + " must be a positive integer").c_str());
    return false;
  }
  *out = static_cast<int64_t>(d);
  return true;
}

bool unwrap_eps(napi_env env, napi_value v, double* out) {
  if (napi_get_value_double(env, v, out) != napi_ok || !(*out >= 0.0) ||
      !std::isfinite(*out)) {
    napi_throw_range_error(env, nullptr, "eps must be a finite number >= 0");
    return false;
  }
  return true;
}

// N, C, M with N*C*M representable.
bool unwrap_shape(napi_env env, const Napi::CallbackInfo& info, size_t at,
                  int64_t* n, int64_t* c, int64_t* m, int64_t* numel) {
  if (!unwrap_dim(env, info[at], "N", n) || !unwrap_dim(env, info[at + 1], "C", c) ||
      !unwrap_dim(env, info[at + 2], "M", m)) {
    return false;
  }
  // All three are >= 1, so a division tells whether the product fits.
  const int64_t kMax = INT64_MAX;
  if (*c > kMax / *n || *m > kMax / (*n * *c)) {
    napi_throw_range_error(env, nullptr, "N*C*M overflows");
    return false;
  }
  *numel = *n * *c * *m;
  return true;
}

// A region of a caller's memory, for the overlap check.
struct Span {
  const void* p;
  int64_t count;  // floats
  const char* name;
};

bool overlap(const Span& a, const Span& b) {
  if (!a.p || !b.p) return false;
  const uintptr_t a0 = reinterpret_cast<uintptr_t>(a.p), b0 = reinterpret_cast<uintptr_t>(b.p);
  return a0 < b0 + b.count * sizeof(float) && b0 < a0 + a.count * sizeof(float);
}

// Outputs must not overlap each other or the inputs, except that outputs[0]
// may be exactly one of the first `in_place` inputs. The facade checks this
// by ArrayBuffer identity; this check, on the real addresses, also catches
// two buffer objects over the same memory (e.g. a SharedArrayBuffer that
// came back through postMessage).
bool check_overlap(napi_env env, const Span* outputs, int n_out, const Span* inputs,
                   int n_in, int in_place) {
  for (int i = 0; i < n_out; ++i) {
    for (int j = i + 1; j < n_out; ++j) {
      if (overlap(outputs[i], outputs[j])) {
        napi_throw_range_error(env, nullptr, (std::string(outputs[i].name) + " and " + outputs[j].name +
                                              " must not share memory").c_str());
        return false;
      }
    }
    for (int j = 0; j < n_in; ++j) {
      if (!overlap(outputs[i], inputs[j])) continue;
      if (i == 0 && j < in_place && outputs[i].p == inputs[j].p && outputs[i].count == inputs[j].count) continue;
      napi_throw_range_error(env, nullptr, (std::string(outputs[i].name) + " must not share memory with " +
                                            inputs[j].name).c_str());
      return false;
    }
  }
  return true;
}

// Typed arrays an async call must keep alive until it settles.
struct KeepAlive {
  napi_value values[8];
  int count = 0;
  void add(napi_env env, napi_value v) {
    napi_valuetype t;
    if (napi_typeof(env, v, &t) == napi_ok && t == napi_object) values[count++] = v;
  }
};

// (x, y, N, C, M, gamma?, beta?, eps, mean?, rstd?)
bool parse_forward(const Napi::CallbackInfo& info, int threads, ops::InstanceNormForward* a,
                   KeepAlive* keep) {
  napi_env env = info.Env();
  int64_t numel;
  float *x, *gamma, *beta;
  if (info.Length() < 10 || !unwrap_shape(env, info, 2, &a->n, &a->c, &a->m, &numel) ||
      !unwrap_f32(env, info[0], numel, false, "x", &x) ||
      !unwrap_f32(env, info[1], numel, false, "out", &a->y) ||
      !unwrap_f32(env, info[5], a->c, true, "gamma", &gamma) ||
      !unwrap_f32(env, info[6], a->c, true, "beta", &beta) ||
      !unwrap_eps(env, info[7], &a->eps) ||
      !unwrap_f32(env, info[8], a->n * a->c, true, "mean", &a->mean) ||
      !unwrap_f32(env, info[9], a->n * a->c, true, "rstd", &a->rstd)) {
    return false;
  }
  const int64_t nc = a->n * a->c;
  const Span outs[] = {{a->y, numel, "out"}, {a->mean, nc, "mean"}, {a->rstd, nc, "rstd"}};
  const Span ins[] = {{x, numel, "x"}, {gamma, a->c, "gamma"}, {beta, a->c, "beta"}};
  if (!check_overlap(env, outs, 3, ins, 3, 1)) return false;
  a->x = x;
  a->gamma = gamma;
  a->beta = beta;
  a->threads = threads;
  for (int i : {0, 1, 5, 6, 8, 9}) keep->add(env, info[i]);
  return true;
}

// (dy, x, dx, dgamma, dbeta, N, C, M, gamma?, mean?, rstd?, eps)
bool parse_backward(const Napi::CallbackInfo& info, int threads, ops::InstanceNormBackward* a,
                    KeepAlive* keep) {
  napi_env env = info.Env();
  int64_t numel;
  float *dy, *x, *gamma, *mean, *rstd;
  if (info.Length() < 12 || !unwrap_shape(env, info, 5, &a->n, &a->c, &a->m, &numel) ||
      !unwrap_f32(env, info[0], numel, false, "dy", &dy) ||
      !unwrap_f32(env, info[1], numel, false, "x", &x) ||
      !unwrap_f32(env, info[2], numel, false, "dx", &a->dx) ||
      !unwrap_f32(env, info[3], a->c, false, "dgamma", &a->dgamma) ||
      !unwrap_f32(env, info[4], a->c, false, "dbeta", &a->dbeta) ||
      !unwrap_f32(env, info[8], a->c, true, "gamma", &gamma) ||
      !unwrap_f32(env, info[9], a->n * a->c, true, "mean", &mean) ||
      !unwrap_f32(env, info[10], a->n * a->c, true, "rstd", &rstd) ||
      !unwrap_eps(env, info[11], &a->eps)) {
    return false;
  }
  const int64_t nc = a->n * a->c;
  const Span outs[] = {{a->dx, numel, "dx"}, {a->dgamma, a->c, "dgamma"}, {a->dbeta, a->c, "dbeta"}};
  const Span ins[] = {{dy, numel, "dy"}, {x, numel, "x"}, {gamma, a->c, "gamma"},
                      {mean, nc, "mean"}, {rstd, nc, "rstd"}};
  if (!check_overlap(env, outs, 3, ins, 5, 2)) return false;
  a->dy = dy;
  a->x = x;
  a->gamma = gamma;
  a->mean = mean;
  a->rstd = rstd;
  a->threads = threads;
  for (int i : {0, 1, 2, 3, 4, 8, 9, 10}) keep->add(env, info[i]);
  return true;
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

using ForwardWorker = OpWorker<ops::InstanceNormForward, ops::instance_norm_forward>;
using BackwardWorker = OpWorker<ops::InstanceNormBackward, ops::instance_norm_backward>;

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
                 InstanceMethod("instanceNormForward", &Addon::Forward),
                 InstanceMethod("instanceNormBackward", &Addon::Backward),
                 InstanceMethod("instanceNormForwardAsync", &Addon::ForwardAsync),
                 InstanceMethod("instanceNormBackwardAsync", &Addon::BackwardAsync)});
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
    int64_t n;
    if (info.Length() < 1 || !unwrap_dim(info.Env(), info[0], "threads", &n) || n > kMaxThreads) {
      bool pending = false;
      napi_is_exception_pending(info.Env(), &pending);
      if (!pending) {
        Napi::RangeError::New(info.Env(), "threads must be at most 1024").ThrowAsJavaScriptException();
      }
      return info.Env().Undefined();
    }
    threads_ = static_cast<int>(n);
    return info.Env().Undefined();
  }

  Napi::Value Forward(const Napi::CallbackInfo& info) {
    ops::InstanceNormForward a{};
    KeepAlive keep;
    if (!parse_forward(info, threads_, &a, &keep)) return Throw(info);
    return Run(info, [&] { ops::instance_norm_forward(*table_, a); });
  }

  Napi::Value Backward(const Napi::CallbackInfo& info) {
    ops::InstanceNormBackward a{};
    KeepAlive keep;
    if (!parse_backward(info, threads_, &a, &keep)) return Throw(info);
    return Run(info, [&] { ops::instance_norm_backward(*table_, a); });
  }

  Napi::Value ForwardAsync(const Napi::CallbackInfo& info) {
    return Queue<ForwardWorker, ops::InstanceNormForward>(info, parse_forward);
  }

  Napi::Value BackwardAsync(const Napi::CallbackInfo& info) {
    return Queue<BackwardWorker, ops::InstanceNormBackward>(info, parse_backward);
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
