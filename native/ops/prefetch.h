// Software prefetch of the next row or plane while the current one is
// processed from cache. A kernel pass that runs from L1 makes no new cache
// misses, so the hardware prefetchers (which follow misses) stop and the
// next row's first pass waits on memory; asking for it ahead keeps memory
// busy during the cached passes.
#pragma once
#include <cstdint>

#if defined(_MSC_VER) && (defined(_M_X64) || defined(_M_IX86))
#include <xmmintrin.h>
#endif

namespace instnorm {
namespace ops {

// Every cache line of [p, p + n) floats, into all cache levels.
inline void prefetch_run(const float* p, int64_t n) {
  constexpr int64_t kLine = 64 / sizeof(float);
  for (int64_t i = 0; i < n; i += kLine) {
#if defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(p + i, 0, 3);
#elif defined(_MSC_VER) && (defined(_M_X64) || defined(_M_IX86))
    _mm_prefetch(reinterpret_cast<const char*>(p + i), _MM_HINT_T0);
#else
    (void)p;
#endif
  }
}

}  // namespace ops
}  // namespace instnorm
