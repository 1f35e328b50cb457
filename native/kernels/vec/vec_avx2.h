// 8 x fp32 in one AVX register; needs -mavx2 -mfma. Tails use masked loads
// and stores (vmaskmovps), which never touch the masked-off bytes, so a
// tail at the very end of a buffer cannot fault.
#pragma once
#include <immintrin.h>

namespace instnorm {
namespace vec {
namespace avx2 {

struct Vec {
  static constexpr int kWidth = 8;
  __m256 v;

  static inline __m256i mask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static inline Vec zero() { return {_mm256_setzero_ps()}; }
  static inline Vec set1(float a) { return {_mm256_set1_ps(a)}; }
  static inline Vec load(const float* p) { return {_mm256_loadu_ps(p)}; }
  static inline Vec load_partial(const float* p, int n, float fill) {
    const __m256i m = mask(n);
    const __m256 x = _mm256_maskload_ps(p, m);
    return {_mm256_blendv_ps(_mm256_set1_ps(fill), x, _mm256_castsi256_ps(m))};
  }
  inline void store(float* p) const { _mm256_storeu_ps(p, v); }
  inline void store_partial(float* p, int n) const {
    _mm256_maskstore_ps(p, mask(n), v);
  }
  // Non-temporal store (p 32-byte aligned): bypasses the cache, so writing
  // a large output does not first read it in (no read-for-ownership).
  inline void stream(float* p) const { _mm256_stream_ps(p, v); }
  static inline void fence() { _mm_sfence(); }
  inline double sum() const {
    const __m256d a = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
    const __m256d b = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
    const __m256d s = _mm256_add_pd(a, b);
    const __m128d t = _mm_add_pd(_mm256_castpd256_pd128(s),
                                 _mm256_extractf128_pd(s, 1));
    return _mm_cvtsd_f64(_mm_add_sd(t, _mm_unpackhi_pd(t, t)));
  }
};

inline Vec operator+(Vec a, Vec b) { return {_mm256_add_ps(a.v, b.v)}; }
inline Vec operator-(Vec a, Vec b) { return {_mm256_sub_ps(a.v, b.v)}; }
inline Vec operator*(Vec a, Vec b) { return {_mm256_mul_ps(a.v, b.v)}; }
inline Vec fmadd(Vec a, Vec b, Vec c) { return {_mm256_fmadd_ps(a.v, b.v, c.v)}; }

}  // namespace avx2
}  // namespace vec
}  // namespace instnorm
