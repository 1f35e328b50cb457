// The three threading primitives the pool needs: a mutex, a condition
// variable and a detached thread. On POSIX they are pthreads, not the C++
// runtime's std::thread/std::mutex/std::condition_variable, whose out-of-line
// parts raise the GLIBCXX version a prebuilt binary needs (see glibc_floor.h).
// On Windows there is no such versioning and the standard types are used.
#pragma once

#include <memory>
#include <new>
#include <utility>

#if defined(_WIN32)
#include <condition_variable>
#include <mutex>
#include <thread>
#else
#include <pthread.h>

#include "glibc_floor.h"
#endif

namespace instnorm {
namespace runtime {

#if defined(_WIN32)

class Mutex {
 public:
  void lock() { m_.lock(); }
  void unlock() { m_.unlock(); }
  std::mutex& get() { return m_; }

 private:
  std::mutex m_;
};

class CondVar {
 public:
  // Called with m locked; returns with it locked.
  void wait(Mutex& m) {
    std::unique_lock<std::mutex> lock(m.get(), std::adopt_lock);
    cv_.wait(lock);
    lock.release();
  }
  void notify_one() { cv_.notify_one(); }
  void notify_all() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

// Runs f() on a new detached thread; false if the OS refuses a thread.
template <class F>
bool start_detached_thread(F f) {
  try {
    std::thread(std::move(f)).detach();
    return true;
  } catch (...) {
    return false;
  }
}

#else

class Mutex {
 public:
  void lock() { pthread_mutex_lock(&m_); }
  void unlock() { pthread_mutex_unlock(&m_); }
  pthread_mutex_t* get() { return &m_; }

 private:
  pthread_mutex_t m_ = PTHREAD_MUTEX_INITIALIZER;
};

class CondVar {
 public:
  // Called with m locked; returns with it locked.
  void wait(Mutex& m) { pthread_cond_wait(&c_, m.get()); }
  void notify_one() { pthread_cond_signal(&c_); }
  void notify_all() { pthread_cond_broadcast(&c_); }

 private:
  pthread_cond_t c_ = PTHREAD_COND_INITIALIZER;
};

// Runs f() on a new detached thread; false if the OS refuses a thread.
template <class F>
bool start_detached_thread(F f) {
  F* heap = new (std::nothrow) F(std::move(f));
  if (heap == nullptr) return false;
  pthread_t thread;
  auto entry = [](void* p) -> void* {
    std::unique_ptr<F> fn(static_cast<F*>(p));
    (*fn)();
    return nullptr;
  };
  if (pthread_create(&thread, nullptr, entry, heap) != 0) {
    delete heap;
    return false;
  }
  pthread_detach(thread);
  return true;
}

#endif

class LockGuard {
 public:
  explicit LockGuard(Mutex& m) : m_(m) { m_.lock(); }
  ~LockGuard() { m_.unlock(); }
  LockGuard(const LockGuard&) = delete;
  LockGuard& operator=(const LockGuard&) = delete;

 private:
  Mutex& m_;
};

}  // namespace runtime
}  // namespace instnorm
