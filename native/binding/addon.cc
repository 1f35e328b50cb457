// The N-API entry points: ISA and thread settings, the list of ops with
// their field order, and two generic calls, run(op, ...fields) and
// runAsync(op, fresh, ...fields), that read any op's descriptor through
// its field list (reader.h) and run it. Per-environment state lives in the
// Addon instance, so the module can be loaded by several worker_threads.
#include <napi.h>

#include <exception>
#include <memory>
#include <stdexcept>
#include <string>

#include "../kernels/dispatch.h"
#include "../ops/op.h"
#include "async_call.h"
#include "field_names.h"
#include "reader.h"

namespace instnorm {
namespace binding {
namespace {

constexpr int64_t kMaxThreads = 1024;
constexpr size_t kMaxArgs = 40;

class Addon : public Napi::Addon<Addon> {
 public:
  Addon(Napi::Env, Napi::Object exports) {
    const kernels::KernelTable* tables[kernels::kMaxTables];
    kernels::supported_tables(tables);
    table_ = tables[0];
    ops_ = ops::registered_ops(&n_ops_);
    DefineAddon(exports, {InstanceMethod("isas", &Addon::Isas), InstanceMethod("isa", &Addon::Isa),
                          InstanceMethod("setIsa", &Addon::SetIsa),
                          InstanceMethod("capIsa", &Addon::CapIsa), InstanceMethod("threads", &Addon::Threads),
                          InstanceMethod("setThreads", &Addon::SetThreads), InstanceMethod("ops", &Addon::Ops),
                          InstanceMethod("runAsync", &Addon::RunAsync)});
    // run() is the per-call hot path: a plain N-API callback (no wrapper
    // object, no heap-allocated argument list).
    napi_value run;
    napi_create_function(exports.Env(), "run", NAPI_AUTO_LENGTH, &Addon::Run, this, &run);
    exports.Set("run", Napi::Value(exports.Env(), run));
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

  Napi::Value Isa(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), table_->isa); }

  // setIsa(name): true if this CPU supports it (and it is now in use).
  Napi::Value SetIsa(const Napi::CallbackInfo& info) {
    if (info.Length() < 1 || !info[0].IsString()) {
      Napi::TypeError::New(info.Env(), "isa must be a string").ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
    const kernels::KernelTable* t = kernels::find_table(info[0].As<Napi::String>().Utf8Value().c_str());
    if (t) table_ = t;
    return Napi::Boolean::New(info.Env(), t != nullptr);
  }

  // capIsa(INSTNORM_ISA): the best supported ISA at or below the cap,
  // now in use; a name that is not an ISA, or not one of this
  // architecture's, is an Error saying which names there are.
  Napi::Value CapIsa(const Napi::CallbackInfo& info) {
    if (info.Length() < 1 || !info[0].IsString()) {
      Napi::TypeError::New(info.Env(), "isa must be a string").ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
    std::string error;
    const kernels::KernelTable* t = kernels::select_table(info[0].As<Napi::String>().Utf8Value().c_str(), &error);
    if (!t) {
      Napi::Error::New(info.Env(), "instnorm: " + error).ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
    table_ = t;
    return Napi::String::New(info.Env(), t->isa);
  }

  Napi::Value Threads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), threads_); }

  Napi::Value SetThreads(const Napi::CallbackInfo& info) {
    double n = 0;
    if (info.Length() < 1 || napi_get_value_double(info.Env(), info[0], &n) != napi_ok || !(n >= 1) ||
        n > kMaxThreads || n != static_cast<double>(static_cast<int>(n))) {
      Napi::RangeError::New(info.Env(), "threads must be an integer from 1 to 1024").ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
    threads_ = static_cast<int>(n);
    return info.Env().Undefined();
  }

  // [{ name, fields: [...] }] in op-index order: the positional order of
  // each op's fields for run()/runAsync().
  Napi::Value Ops(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Array out = Napi::Array::New(env, n_ops_);
    for (int i = 0; i < n_ops_; ++i) {
      std::unique_ptr<unsigned char[]> d(new unsigned char[ops_[i].size]);
      ops_[i].construct(d.get());
      FieldNames names;
      ops_[i].fields(d.get(), names);
      Napi::Array fields = Napi::Array::New(env, names.names.size());
      for (size_t j = 0; j < names.names.size(); ++j) fields.Set(static_cast<uint32_t>(j), names.names[j]);
      Napi::Object o = Napi::Object::New(env);
      o.Set("name", ops_[i].name);
      o.Set("fields", fields);
      out.Set(static_cast<uint32_t>(i), o);
    }
    return out;
  }

  // The op named by args[0]; throws and returns null when there is none.
  const ops::OpEntry* OpAt(napi_env env, napi_value v) {
    int32_t i = -1;
    if (napi_get_value_int32(env, v, &i) != napi_ok || i < 0 || i >= n_ops_) {
      napi_throw_type_error(env, nullptr, "instnorm: unknown op");
      return nullptr;
    }
    return &ops_[i];
  }

  // run(op, ...fields): reads, checks and runs synchronously, on the
  // caller's memory. A C++ exception (scratch memory refused, a value a
  // SharedArrayBuffer changed after its check) becomes a JS RangeError.
  static napi_value Run(napi_env env, napi_callback_info info) {
    napi_value args[kMaxArgs];
    size_t argc = kMaxArgs;
    void* data = nullptr;
    if (napi_get_cb_info(env, info, &argc, args, nullptr, &data) != napi_ok) return nullptr;
    Addon& self = *static_cast<Addon*>(data);
    if (argc > kMaxArgs) argc = kMaxArgs;
    if (argc < 1) {
      Fail(env, "instnorm: run needs an op");
      return nullptr;
    }
    const ops::OpEntry* op = self.OpAt(env, args[0]);
    if (!op) return nullptr;
    alignas(16) unsigned char desc[kMaxDescriptor];
    if (op->size > sizeof desc) {
      Fail(env, "instnorm: descriptor too large");
      return nullptr;
    }
    op->construct(desc);
    ArgReader r(env, args + 1, argc - 1, op->name, false);
    op->fields(desc, r);
    if (!r.ok() || !r.finish(op->check(desc))) return nullptr;
    try {
      op->run(ops::Context{*self.table_, self.threads_}, desc);
    } catch (const std::exception& e) {
      napi_throw_range_error(env, nullptr, (std::string("instnorm: ") + op->name + ": " + e.what()).c_str());
    }
    return nullptr;
  }

  // runAsync(op, fresh, ...fields): the same checks, now; the op on a libuv
  // worker (async_call.h for what happens to the caller's memory).
  Napi::Value RunAsync(const Napi::CallbackInfo& info) {
    napi_env env = info.Env();
    napi_value args[kMaxArgs];
    const size_t argc = info.Length() < kMaxArgs ? info.Length() : kMaxArgs;
    for (size_t i = 0; i < argc; ++i) args[i] = info[i];
    if (argc < 2) return Fail(env, "instnorm: runAsync needs an op and a fresh mask");
    const ops::OpEntry* op = OpAt(env, args[0]);
    if (!op) return Napi::Value();
    uint32_t fresh = 0;
    if (napi_get_value_uint32(env, args[1], &fresh) != napi_ok) return Fail(env, "instnorm: bad fresh mask");
    std::unique_ptr<unsigned char[]> desc(new unsigned char[op->size]);
    op->construct(desc.get());
    ArgReader r(env, args + 2, argc - 2, op->name, true);
    op->fields(desc.get(), r);
    if (!r.ok() || !r.finish(op->check(desc.get()))) return Napi::Value();
    auto* call = new AsyncCall(info.Env(), *op, std::move(desc), r, fresh, table_, threads_);
    if (!call->Prepare()) {
      delete call;
      napi_throw_range_error(env, nullptr,
                             (std::string("instnorm: ") + op->name + ": out of memory for the async copies").c_str());
      return Napi::Value();
    }
    Napi::Promise p = call->Promise();
    call->Queue();
    return p;
  }

  static Napi::Value Fail(napi_env env, const char* m) {
    napi_throw_type_error(env, nullptr, m);
    return Napi::Value();
  }

  static constexpr size_t kMaxDescriptor = 512;
  const kernels::KernelTable* table_;
  const ops::OpEntry* ops_ = nullptr;
  int n_ops_ = 0;
  int threads_ = 1;
};

}  // namespace
}  // namespace binding
}  // namespace instnorm

using InstnormAddon = instnorm::binding::Addon;
NODE_API_ADDON(InstnormAddon)
