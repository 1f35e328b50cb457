// TEST-ONLY. Lets the AVX-512 kernels run on a CPU without AVX-512, so that
// their logic (tails, masks, reductions) is tested on every machine.
// SIMDe (libsimde-dev) implements most intrinsics portably; the four the
// kernels use that SIMDe 0.7 lacks are written here from Intel's definitions.
// The masked load reads only the selected lanes, as the hardware does, so
// the guard-page tests stay meaningful. Never used in the addon.
#pragma once
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>

#include <cstdint>

typedef simde__mmask16 __mmask16;

#include <cstring>

// always_inline: an out-of-line copy of a function taking or returning
// __m512 in a file compiled without -mavx512f trips GCC's -Wpsabi (an error
// under -Werror), and GCC stops inlining these once they have many callers.

static inline __attribute__((always_inline)) __m512 _mm512_mask_loadu_ps(__m512 src, __mmask16 k, const void* p) {
  float lanes[16];
  std::memcpy(lanes, &src, sizeof lanes);
  const float* q = static_cast<const float*>(p);
  for (int i = 0; i < 16; ++i) {
    if ((k >> i) & 1) lanes[i] = q[i];
  }
  __m512 r;
  std::memcpy(&r, lanes, sizeof lanes);
  return r;
}

static inline __attribute__((always_inline)) void _mm512_mask_storeu_ps(void* p, __mmask16 k, __m512 v) {
  float lanes[16];
  std::memcpy(lanes, &v, sizeof lanes);
  float* q = static_cast<float*>(p);
  for (int i = 0; i < 16; ++i) {
    if ((k >> i) & 1) q[i] = lanes[i];
  }
}

static inline __attribute__((always_inline)) __m512d _mm512_cvtps_pd(__m256 v) {
  float f[8];
  double d[8];
  std::memcpy(f, &v, sizeof f);
  for (int i = 0; i < 8; ++i) d[i] = f[i];
  __m512d r;
  std::memcpy(&r, d, sizeof d);
  return r;
}

static inline __attribute__((always_inline)) double _mm512_reduce_add_pd(__m512d v) {
  double d[8];
  std::memcpy(d, &v, sizeof d);
  // A tree (halves, quarters, pairs); may differ from the hardware's order
  // in the last bit, which the tests' tolerances allow.
  for (int i = 0; i < 4; ++i) d[i] += d[i + 4];
  for (int i = 0; i < 2; ++i) d[i] += d[i + 2];
  return d[0] + d[1];
}

static inline __attribute__((always_inline)) void _mm512_stream_ps(void* p, __m512 v) { std::memcpy(p, &v, sizeof v); }
