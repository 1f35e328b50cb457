// 16 x fp32 in one ZMM register; needs -mavx512f -mavx512bw -mavx512vl
// -mavx2 -mfma. Tails use opmask loads/stores: masked-off lanes are neither
// read nor written (and cannot fault).
#pragma once
#if defined(INSTNORM_EMULATE_AVX512)
#include "../../test/avx512_emulation.h"  // kernel tests on CPUs without AVX-512
#else
#include <immintrin.h>
#endif

namespace instnorm {
namespace vec {
namespace avx512 {

struct Vec {
  static constexpr int kWidth = 16;
  __m512 v;

  static inline __mmask16 mask(int n) {
    return static_cast<__mmask16>((1u << n) - 1u);
  }
  static inline Vec zero() { return {_mm512_setzero_ps()}; }
  static inline Vec set1(float a) { return {_mm512_set1_ps(a)}; }
  static inline Vec load(const float* p) { return {_mm512_loadu_ps(p)}; }
  static inline Vec load_partial(const float* p, int n, float fill) {
    return {_mm512_mask_loadu_ps(_mm512_set1_ps(fill), mask(n), p)};
  }
  inline void store(float* p) const { _mm512_storeu_ps(p, v); }
  inline void store_partial(float* p, int n) const {
    _mm512_mask_storeu_ps(p, mask(n), v);
  }
  // Non-temporal store (p 64-byte aligned): see vec_avx2.h.
  inline void stream(float* p) const { _mm512_stream_ps(p, v); }
  static inline void fence() { _mm_sfence(); }
  inline double sum() const {
    const __m256 lo = _mm512_castps512_ps256(v);
    const __m256 hi =
        _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
    return _mm512_reduce_add_pd(
        _mm512_add_pd(_mm512_cvtps_pd(lo), _mm512_cvtps_pd(hi)));
  }
};

inline Vec operator+(Vec a, Vec b) { return {_mm512_add_ps(a.v, b.v)}; }
inline Vec operator-(Vec a, Vec b) { return {_mm512_sub_ps(a.v, b.v)}; }
inline Vec operator*(Vec a, Vec b) { return {_mm512_mul_ps(a.v, b.v)}; }
inline Vec fmadd(Vec a, Vec b, Vec c) { return {_mm512_fmadd_ps(a.v, b.v, c.v)}; }

}  // namespace avx512
}  // namespace vec
}  // namespace instnorm
