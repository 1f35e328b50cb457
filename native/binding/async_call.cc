#include "async_call.h"

#include <cstring>
#include <exception>
#include <string>

#include "../ops/scratch.h"
#include "errors.h"

namespace instnorm {
namespace binding {
namespace {
constexpr size_t kLine = 64;
}  // namespace

AsyncCall::AsyncCall(Napi::Env env, const ops::OpEntry& op, std::unique_ptr<unsigned char[]> desc,
                     const ArgReader& r, uint32_t fresh, const kernels::KernelTable* table, int threads)
    : Napi::AsyncWorker(env, "instnorm"),
      deferred_(Napi::Promise::Deferred::New(env)),
      op_(op),
      desc_(std::move(desc)),
      table_(table),
      threads_(threads),
      fresh_(fresh) {
  for (int i = 0; i < r.array_count(); ++i) {
    Held& h = held_[n_held_++];
    h.arg = r.array(i);
    napi_create_reference(env, h.arg.value, 1, &h.ref);
  }
}

bool AsyncCall::Prepare() {
  for (int i = 0; i < n_held_; ++i) {
    Held& h = held_[i];
    const bool in_place = h.arg.shared || (h.arg.field < 32 && ((fresh_ >> h.arg.field) & 1u));
    if (in_place || h.arg.bytes == 0) continue;
    // An output that is exactly an input (in place) shares that input's copy.
    for (int j = 0; j < i; ++j) {
      const Held& o = held_[j];
      if (o.copy && o.arg.data == h.arg.data && o.arg.bytes == h.arg.bytes) h.copy = o.copy;
    }
    if (!h.copy) {
      // At the caller's offset within a cache line: the kernels align their
      // loops to the data, so the copy gives the same bits as the original.
      const size_t shift = reinterpret_cast<uintptr_t>(h.arg.data) % kLine;
      h.mapped = ops::detail::map_filled_pages(static_cast<size_t>(h.arg.bytes) + kLine);
      if (!h.mapped) return false;
      h.copy = static_cast<char*>(h.mapped) + shift;
      h.owns = true;
      if (h.arg.input) std::memcpy(h.copy, h.arg.data, static_cast<size_t>(h.arg.bytes));
    }
    *h.arg.slot = h.copy;
  }
  return true;
}

AsyncCall::~AsyncCall() { release(); }

void AsyncCall::release() {
  for (int i = 0; i < n_held_; ++i) {
    Held& h = held_[i];
    if (h.owns) ops::detail::unmap_pages(h.mapped, static_cast<size_t>(h.arg.bytes) + kLine);
    if (h.ref) napi_delete_reference(Env(), h.ref);
    h = Held{};
  }
  n_held_ = 0;
}

void AsyncCall::Execute() {
  try {
    op_.run(ops::Context{*table_, threads_}, desc_.get());
  } catch (const std::exception& e) {
    SetError(std::string("instnorm: ") + op_.name + ": " + e.what());
  }
}

void AsyncCall::OnOK() {
  napi_env env = Env();
  // All or nothing: if any copied output can no longer take its result,
  // none is written.
  void* dest[ArgReader::kMaxArrays] = {};
  for (int i = 0; i < n_held_; ++i) {
    Held& h = held_[i];
    if (!h.copy || !h.arg.output) continue;
    napi_value v;
    napi_typedarray_type type;
    size_t length = 0;
    void* data = nullptr;
    if (napi_get_reference_value(env, h.ref, &v) != napi_ok ||
        napi_get_typedarray_info(env, v, &type, &length, &data, nullptr, nullptr) != napi_ok) {
      length = 0;
    }
    const size_t elem = type == napi_float64_array ? 8 : 4;
    if (!data || static_cast<int64_t>(length * elem) != h.arg.bytes) {
      deferred_.Reject(Napi::Value(
          env, tagged_error(env, ErrorKind::kType,
                            std::string("instnorm: ") + op_.name + ": the buffer of " + h.arg.name +
                                " was detached, transferred or resized while the call ran; no result was "
                                "written. Keep every buffer until the promise settles (or use a "
                                "SharedArrayBuffer).",
                            {h.arg.name})));
      release();
      return;
    }
    dest[i] = data;
  }
  for (int i = 0; i < n_held_; ++i) {
    if (dest[i]) std::memcpy(dest[i], held_[i].copy, static_cast<size_t>(held_[i].arg.bytes));
  }
  release();
  deferred_.Resolve(Env().Undefined());
}

void AsyncCall::OnError(const Napi::Error& e) {
  release();
  deferred_.Reject(e.Value());
}

}  // namespace binding
}  // namespace instnorm
