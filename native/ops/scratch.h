// Scratch memory for one call, with a bound on what stays behind.
// Requests are carved from a per-thread arena of kArenaBytes, kept between
// calls so the usual shapes allocate nothing; a request that does not fit is
// mapped for the duration of the call and returned to the OS when its
// Scratch goes out of scope (glibc's malloc would keep large blocks in its
// heap). So no call leaves more than kArenaBytes per thread behind, however
// large its tensors were. Scratch objects are released in reverse order of
// creation (they are scoped objects), which is what lets the arena be a stack.
#pragma once
#include <cstddef>
#include <cstdint>
#include <new>

namespace instnorm {
namespace ops {

constexpr size_t kArenaBytes = size_t{4} << 20;

namespace detail {
// Page-granular memory from the OS (nullptr when refused).
void* map_pages(size_t bytes);
// The same, for memory the caller fills at once (the async calls' copies):
// from 4 MiB on, aligned to 2 MiB and advised as transparent huge pages.
void* map_filled_pages(size_t bytes);
void unmap_pages(void* p, size_t bytes);

struct Arena {
  char* base = nullptr;
  size_t used = 0;
};
Arena& thread_arena();
}  // namespace detail

template <class T>
class Scratch {
 public:
  explicit Scratch(int64_t count) {
    bytes_ = round_up(static_cast<size_t>(count < 0 ? 0 : count) * sizeof(T));
    detail::Arena& a = detail::thread_arena();
    if (bytes_ <= kArenaBytes - a.used && a.base) {
      mark_ = a.used;
      p_ = reinterpret_cast<T*>(a.base + a.used);
      a.used += bytes_;
      arena_ = &a;
    } else {
      void* m = detail::map_pages(bytes_ ? bytes_ : 64);
      if (!m) throw std::bad_alloc();
      p_ = static_cast<T*>(m);
    }
  }
  ~Scratch() {
    if (arena_) {
      arena_->used = mark_;
    } else {
      detail::unmap_pages(p_, bytes_ ? bytes_ : 64);
    }
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;

  T* data() const { return p_; }
  T& operator[](int64_t i) const { return p_[i]; }

 private:
  static size_t round_up(size_t b) { return (b + 63) & ~size_t{63}; }
  T* p_ = nullptr;
  size_t bytes_ = 0, mark_ = 0;
  detail::Arena* arena_ = nullptr;
};

}  // namespace ops
}  // namespace instnorm
