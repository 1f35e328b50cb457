#include "thread_pool.h"

#include <atomic>

#include "sync.h"

namespace instnorm {
namespace runtime {
namespace {

// Set while this thread runs inside a region (as its caller or a helper): a
// nested parallel_for then runs serially instead of re-locking the region.
thread_local bool in_region = false;

class Pool {
 public:
  // Called by the owner of the region (try_enter() returned true).
  void run(int threads, int64_t tasks, TaskFn fn, void* ctx) {
    const int helpers = grow(threads - 1);
    {
      LockGuard lock(mu_);
      fn_ = fn;
      ctx_ = ctx;
      tasks_ = tasks;
      next_.store(0, std::memory_order_relaxed);
      helpers_wanted_ = helpers;
      helpers_active_ = helpers;
      ++generation_;
    }
    wake_.notify_all();
    work(fn, ctx, tasks);
    LockGuard lock(mu_);
    while (helpers_active_ != 0) done_.wait(mu_);
  }

  // One parallel region at a time: a caller that finds the pool busy runs
  // its region alone instead of waiting.
  bool try_enter() { return !busy_.exchange(true, std::memory_order_acquire); }
  void leave() { busy_.store(false, std::memory_order_release); }

 private:
  // Returns how many helpers exist (fewer than asked if the OS refuses
  // threads: then the region just runs on fewer).
  int grow(int helpers) {
    uint64_t gen;
    {
      LockGuard lock(mu_);
      gen = generation_;
    }
    while (workers_ < helpers) {
      const int index = workers_;
      // A new worker starts as having seen the current generation, so it
      // can only join a region published after this point. Workers are
      // detached: the pool lives as long as the process.
      if (!start_detached_thread([this, index, gen] { loop(index, gen); })) break;
      ++workers_;
    }
    return helpers < workers_ ? helpers : workers_;
  }

  void work(TaskFn fn, void* ctx, int64_t tasks) {
    for (;;) {
      const int64_t t = next_.fetch_add(1, std::memory_order_relaxed);
      if (t >= tasks) return;
      fn(ctx, t);
    }
  }

  void loop(int index, uint64_t seen) {
    in_region = true;  // a helper only ever runs region tasks
    for (;;) {
      TaskFn fn;
      void* ctx;
      int64_t tasks;
      {
        LockGuard lock(mu_);
        while (!(generation_ != seen && index < helpers_wanted_)) wake_.wait(mu_);
        seen = generation_;
        fn = fn_;
        ctx = ctx_;
        tasks = tasks_;
      }
      work(fn, ctx, tasks);
      LockGuard lock(mu_);
      if (--helpers_active_ == 0) done_.notify_one();
    }
  }

  std::atomic<bool> busy_{false};
  int workers_ = 0;  // only grown by the region's owner
  Mutex mu_;
  CondVar wake_, done_;
  uint64_t generation_ = 0;
  TaskFn fn_ = nullptr;
  void* ctx_ = nullptr;
  int64_t tasks_ = 0;
  int helpers_wanted_ = 0;
  int helpers_active_ = 0;
  std::atomic<int64_t> next_{0};
};

Pool& pool() {
  static Pool* p = new Pool();  // never destroyed: detached workers may outlive statics
  return *p;
}

void run_serial(int64_t tasks, TaskFn fn, void* ctx) {
  for (int64_t t = 0; t < tasks; ++t) fn(ctx, t);
}

}  // namespace

// Many small tasks (e.g. thousands of 8x8 planes) are handed out in
// contiguous batches, so threads do not fight over the task counter.
struct Batched {
  TaskFn fn;
  void* ctx;
  int64_t tasks, batch;
  static void run(void* self, int64_t b) {
    const Batched& s = *static_cast<Batched*>(self);
    const int64_t end = (b + 1) * s.batch < s.tasks ? (b + 1) * s.batch : s.tasks;
    for (int64_t t = b * s.batch; t < end; ++t) s.fn(s.ctx, t);
  }
};

// Owns the pool's region for a scope and marks this thread as inside it.
struct Region {
  explicit Region(Pool& p) : pool(p) { in_region = true; }
  ~Region() {
    in_region = false;
    pool.leave();
  }
  Pool& pool;
};

void parallel_for(int threads, int64_t tasks, TaskFn fn, void* ctx) {
  if (threads > tasks) threads = static_cast<int>(tasks);
  if (threads <= 1 || in_region) return run_serial(tasks, fn, ctx);
  Pool& p = pool();
  if (!p.try_enter()) return run_serial(tasks, fn, ctx);
  Region region(p);
  const int64_t per_thread_batches = 16;  // enough for load balance
  Batched b{fn, ctx, tasks, tasks / (threads * per_thread_batches)};
  if (b.batch <= 1) return p.run(threads, tasks, fn, ctx);
  p.run(threads, (tasks + b.batch - 1) / b.batch, &Batched::run, &b);
}

}  // namespace runtime
}  // namespace instnorm
