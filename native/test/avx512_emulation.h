// TEST-ONLY. Lets the AVX-512 kernels run on a CPU without AVX-512, so that
// their logic (tails, masks, reductions) is tested on every machine.
// SIMDe (libsimde-dev) implements most intrinsics portably; those the Vec
// API (vec_avx512.h) uses that SIMDe 0.7 lacks are written here from
// Intel's definitions.
// The masked load reads only the selected lanes, as the hardware does, so
// the guard-page tests stay meaningful. Never used in the addon.
#pragma once
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>

#include <cstdint>

typedef simde__mmask16 __mmask16;

#include <cmath>
#include <cstring>

// SIMDe defines the other rounding-mode aliases but not this one.
#ifndef _MM_FROUND_NO_EXC
#define _MM_FROUND_NO_EXC SIMDE_MM_FROUND_NO_EXC
#endif

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

// Lanes of a 512-bit register as 16 floats or ints, and back.
template <class T, class R>
static inline __attribute__((always_inline)) void emu_lanes(const R& r, T (&out)[16]) {
  std::memcpy(out, &r, sizeof out);
}
template <class R, class T>
static inline __attribute__((always_inline)) R emu_reg(const T (&in)[16]) {
  R r;
  std::memcpy(&r, in, sizeof r);
  return r;
}

// 128-bit lanes: result lanes 0, 1 from a, 2, 3 from b, as imm selects.
static inline __attribute__((always_inline)) __m512 _mm512_shuffle_f32x4(__m512 a, __m512 b, int imm) {
  float x[16], y[16], r[16];
  emu_lanes(a, x);
  emu_lanes(b, y);
  for (int q = 0; q < 4; ++q) {
    const float* src = q < 2 ? x : y;
    const int sel = (imm >> (2 * q)) & 3;
    for (int i = 0; i < 4; ++i) r[4 * q + i] = src[4 * sel + i];
  }
  return emu_reg<__m512>(r);
}

// Within each 128-bit lane, element i takes element (imm >> 2i) & 3.
static inline __attribute__((always_inline)) __m512 _mm512_permute_ps(__m512 a, int imm) {
  float x[16], r[16];
  emu_lanes(a, x);
  for (int q = 0; q < 4; ++q) {
    for (int i = 0; i < 4; ++i) r[4 * q + i] = x[4 * q + ((imm >> (2 * i)) & 3)];
  }
  return emu_reg<__m512>(r);
}

static inline __attribute__((always_inline)) float _mm512_cvtss_f32(__m512 a) {
  float x[16];
  emu_lanes(a, x);
  return x[0];
}

static inline __attribute__((always_inline)) __m512i _mm512_srai_epi32(__m512i a, unsigned int imm) {
  int32_t x[16];
  emu_lanes(a, x);
  const unsigned int k = imm > 31 ? 31 : imm;
  for (int i = 0; i < 16; ++i) {
    const uint32_t u = static_cast<uint32_t>(x[i]);
    x[i] = static_cast<int32_t>((u >> k) | ((u >> 31) && k ? ~(~uint32_t{0} >> k) : 0u));
  }
  return emu_reg<__m512i>(x);
}

// Rounds as MXCSR does by default (nearest, ties to even); NaN and values
// out of range give the "integer indefinite" 0x80000000, as the hardware.
static inline __attribute__((always_inline)) __m512i _mm512_cvtps_epi32(__m512 a) {
  float x[16];
  int32_t r[16];
  emu_lanes(a, x);
  for (int i = 0; i < 16; ++i) {
    const float v = std::nearbyint(x[i]);
    r[i] = v >= -2147483648.0f && v < 2147483648.0f ? static_cast<int32_t>(v) : INT32_MIN;
  }
  return emu_reg<__m512i>(r);
}

static inline __attribute__((always_inline)) __m512 _mm512_cvtepi32_ps(__m512i a) {
  int32_t x[16];
  float r[16];
  emu_lanes(a, x);
  for (int i = 0; i < 16; ++i) r[i] = static_cast<float>(x[i]);
  return emu_reg<__m512>(r);
}

// SIMDe 0.7.4's roundscale ignores the rounding mode when _MM_FROUND_NO_EXC
// is set with it (floor came back unrounded): replaced, for scale 0 (imm
// bits 7:4), the only form vec_avx512.h uses.
#undef _mm512_roundscale_ps
static inline __attribute__((always_inline)) __m512 _mm512_roundscale_ps(__m512 a, int imm) {
  float x[16];
  emu_lanes(a, x);
  for (int i = 0; i < 16; ++i) {
    switch (imm & 3) {
      case 0: x[i] = std::nearbyint(x[i]); break;
      case 1: x[i] = std::floor(x[i]); break;
      case 2: x[i] = std::ceil(x[i]); break;
      default: x[i] = std::trunc(x[i]); break;
    }
  }
  return emu_reg<__m512>(x);
}
