#include "scratch.h"

#include <cstdlib>

#if defined(_WIN32)
#include <windows.h>
#else
#include <sys/mman.h>
#endif

namespace instnorm {
namespace ops {
namespace detail {

void* map_pages(size_t bytes) {
#if defined(_WIN32)
  return VirtualAlloc(nullptr, bytes, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
#else
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
#endif
}

void unmap_pages(void* p, size_t bytes) {
#if defined(_WIN32)
  (void)bytes;
  VirtualFree(p, 0, MEM_RELEASE);
#else
  munmap(p, bytes);
#endif
}

namespace {
// The arena's pages are touched only as far as calls have needed them, so
// a thread that only ever handles small tensors keeps only a few pages.
struct ArenaOwner {
  Arena a;
  ArenaOwner() { a.base = static_cast<char*>(map_pages(kArenaBytes)); }
  ~ArenaOwner() {
    if (a.base) unmap_pages(a.base, kArenaBytes);
  }
};
}  // namespace

Arena& thread_arena() {
  static thread_local ArenaOwner owner;
  return owner.a;
}

}  // namespace detail
}  // namespace ops
}  // namespace instnorm
