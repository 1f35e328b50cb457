// One op run on a libuv worker thread, its promise settled on the JS thread.
//
// The caller's memory must stay valid for as long as the kernel runs, and
// JavaScript can free it at any time: transferring an ArrayBuffer
// (postMessage, structuredClone, ArrayBuffer#transfer) detaches it and its
// memory goes with the new owner; a resizable one can shrink. So:
// - arrays on a SharedArrayBuffer (which can be neither detached nor
//   shrunk) are used in place, zero-copy;
// - arrays the facade allocated for this call ("fresh" outputs, not yet
//   reachable by any user code) are used in place;
// - every other array is copied: inputs now, before the call returns, and
//   outputs back when the op has finished, on the JS thread, only if the
//   caller's array is still attached and as long as it was (else the
//   promise rejects and nothing is written).
// Every array is referenced until the promise settles.
#pragma once
#include <napi.h>

#include <cstdint>
#include <memory>

#include "../ops/op.h"
#include "reader.h"

namespace instnorm {
namespace binding {

class AsyncCall : public Napi::AsyncWorker {
 public:
  // `desc` has been filled by `r` (all checks passed). `fresh`: bit i set
  // when field i is an array the facade allocated for this call.
  AsyncCall(Napi::Env env, const ops::OpEntry& op, std::unique_ptr<unsigned char[]> desc, const ArgReader& r,
            uint32_t fresh, const kernels::KernelTable* table, int threads);
  ~AsyncCall() override;
  // Takes the copies (see above). False when memory for them is refused:
  // then delete the call instead of queuing it.
  bool Prepare();
  Napi::Promise Promise() const { return deferred_.Promise(); }

  void Execute() override;
  void OnOK() override;
  void OnError(const Napi::Error& e) override;

 private:
  struct Held {
    ArrayArg arg;
    napi_ref ref = nullptr;
    void* copy = nullptr;    // may be another Held's copy (in place)
    void* mapped = nullptr;  // the pages holding `copy`, when `owns`
    bool owns = false;
  };
  void release();

  Napi::Promise::Deferred deferred_;
  const ops::OpEntry& op_;
  std::unique_ptr<unsigned char[]> desc_;
  const kernels::KernelTable* table_;
  int threads_;
  uint32_t fresh_;
  Held held_[ArgReader::kMaxArrays];
  int n_held_ = 0;
};

}  // namespace binding
}  // namespace instnorm
