#include "policy.h"

#if defined(__linux__)
#include <unistd.h>
#endif

namespace instnorm {
namespace ops {
namespace {

int64_t last_level_cache_bytes() {
#if defined(__linux__) && defined(_SC_LEVEL3_CACHE_SIZE)
  const long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
  if (l3 > 0) return l3;
  const long l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
  if (l2 > 0) return l2;
#endif
  return 0;  // unknown: the lower bound applies
}

}  // namespace

int64_t stream_min_bytes() {
  static const int64_t bytes = [] {
    constexpr int64_t lo = int64_t{16} << 20, hi = int64_t{64} << 20;
    const int64_t half = last_level_cache_bytes() / 2;
    return half < lo ? lo : half > hi ? hi : half;
  }();
  return bytes;
}

}  // namespace ops
}  // namespace instnorm
