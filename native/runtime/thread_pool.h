// A process-wide pool of worker threads, created lazily and grown on
// demand, shared by every JS environment (main thread and workers) that
// loads the addon. One parallel region runs at a time; a caller that finds
// the pool busy (another environment, or an async call on a libuv thread)
// runs its region on its own thread instead of waiting. Results never depend
// on which threads run which tasks (see ops/), so this changes speed only.
#pragma once
#include <cstdint>
#include <type_traits>

namespace instnorm {
namespace runtime {

using TaskFn = void (*)(void* ctx, int64_t task);

// Runs fn(ctx, t) for every t in [0, tasks), on up to `threads` threads
// including the caller, and returns when all have finished. No allocation
// once the pool has grown to `threads`.
void parallel_for(int threads, int64_t tasks, TaskFn fn, void* ctx);

// Convenience for lambdas: parallel_for(threads, tasks, [&](int64_t t) {...}).
template <class F>
void parallel_for(int threads, int64_t tasks, F&& f) {
  using Fn = std::remove_reference_t<F>;
  parallel_for(
      threads, tasks,
      [](void* ctx, int64_t t) { (*static_cast<Fn*>(ctx))(t); },
      const_cast<void*>(static_cast<const void*>(&f)));
}

}  // namespace runtime
}  // namespace instnorm
