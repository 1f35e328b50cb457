// 8 x fp32 in one AVX register; needs -mavx2 -mfma. The Vec API of
// vec_scalar.h. Tails use masked loads and stores (vmaskmovps), which never
// touch the masked-off bytes, so a tail at the very end of a buffer cannot
// fault. Masks are vectors of all-ones / all-zero lanes.
#pragma once
#include <immintrin.h>

#include <cstdint>

namespace instnorm {
namespace vec {
namespace avx2 {

struct Mask {
  __m256 m;

  // Lanes [0, n) set, 0 <= n <= 8.
  static inline Mask first_n(int n) {
    return {_mm256_castsi256_ps(
        _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)))};
  }
};

inline Mask operator&(Mask a, Mask b) { return {_mm256_and_ps(a.m, b.m)}; }
inline Mask operator|(Mask a, Mask b) { return {_mm256_or_ps(a.m, b.m)}; }
inline Mask operator^(Mask a, Mask b) { return {_mm256_xor_ps(a.m, b.m)}; }
inline Mask operator~(Mask a) {
  return {_mm256_xor_ps(a.m, _mm256_castsi256_ps(_mm256_set1_epi32(-1)))};
}
inline bool any(Mask a) { return _mm256_movemask_ps(a.m) != 0; }
inline bool all(Mask a) { return _mm256_movemask_ps(a.m) == 0xFF; }

struct IntVec;

struct Vec {
  using Mask = avx2::Mask;   // comparisons, select, masked loads and stores
  using Int = avx2::IntVec;  // int32 lanes of the same width
  static constexpr int kWidth = 8;
  __m256 v;

  static inline __m256i mask(int n) { return _mm256_castps_si256(Mask::first_n(n).m); }
  static inline Vec zero() { return {_mm256_setzero_ps()}; }
  static inline Vec set1(float a) { return {_mm256_set1_ps(a)}; }
  static inline Vec load(const float* p) { return {_mm256_loadu_ps(p)}; }
  static inline Vec load_partial(const float* p, int n, float fill) {
    const __m256i m = mask(n);
    const __m256 x = _mm256_maskload_ps(p, m);
    return {_mm256_blendv_ps(_mm256_set1_ps(fill), x, _mm256_castsi256_ps(m))};
  }
  static inline Vec load_masked(const float* p, Mask m, float fill) {
    const __m256 x = _mm256_maskload_ps(p, _mm256_castps_si256(m.m));
    return {_mm256_blendv_ps(_mm256_set1_ps(fill), x, m.m)};
  }
  inline void store(float* p) const { _mm256_storeu_ps(p, v); }
  inline void store_partial(float* p, int n) const {
    _mm256_maskstore_ps(p, mask(n), v);
  }
  inline void store_masked(float* p, Mask m) const {
    _mm256_maskstore_ps(p, _mm256_castps_si256(m.m), v);
  }
  // Non-temporal store (p 32-byte aligned): bypasses the cache, so writing
  // a large output does not first read it in (no read-for-ownership).
  inline void stream(float* p) const { _mm256_stream_ps(p, v); }
  static inline void fence() { _mm_sfence(); }
  inline void store_double(double* p) const {
    _mm256_storeu_pd(p, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
    _mm256_storeu_pd(p + 4, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
  }
  inline double sum() const {
    const __m256d a = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
    const __m256d b = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
    const __m256d s = _mm256_add_pd(a, b);
    const __m128d t = _mm_add_pd(_mm256_castpd256_pd128(s),
                                 _mm256_extractf128_pd(s, 1));
    return _mm_cvtsd_f64(_mm_add_sd(t, _mm_unpackhi_pd(t, t)));
  }
  inline float reduce_min() const;
  inline float reduce_max() const;
};

inline Vec operator+(Vec a, Vec b) { return {_mm256_add_ps(a.v, b.v)}; }
inline Vec operator-(Vec a, Vec b) { return {_mm256_sub_ps(a.v, b.v)}; }
inline Vec operator*(Vec a, Vec b) { return {_mm256_mul_ps(a.v, b.v)}; }
inline Vec operator/(Vec a, Vec b) { return {_mm256_div_ps(a.v, b.v)}; }
inline Vec operator-(Vec a) { return {_mm256_xor_ps(a.v, _mm256_set1_ps(-0.0f))}; }
inline Vec fmadd(Vec a, Vec b, Vec c) { return {_mm256_fmadd_ps(a.v, b.v, c.v)}; }
// vminps returns its second operand when either is NaN: the unordered
// lanes are forced to NaN (all-ones) to propagate it.
inline Vec min(Vec a, Vec b) {
  return {_mm256_or_ps(_mm256_min_ps(a.v, b.v), _mm256_cmp_ps(a.v, b.v, _CMP_UNORD_Q))};
}
inline Vec max(Vec a, Vec b) {
  return {_mm256_or_ps(_mm256_max_ps(a.v, b.v), _mm256_cmp_ps(a.v, b.v, _CMP_UNORD_Q))};
}
inline Vec abs(Vec a) { return {_mm256_andnot_ps(_mm256_set1_ps(-0.0f), a.v)}; }
inline Vec sqrt(Vec a) { return {_mm256_sqrt_ps(a.v)}; }
inline Vec round(Vec a) {
  return {_mm256_round_ps(a.v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)};
}
inline Vec floor(Vec a) { return {_mm256_floor_ps(a.v)}; }

inline Mask lt(Vec a, Vec b) { return {_mm256_cmp_ps(a.v, b.v, _CMP_LT_OQ)}; }
inline Mask le(Vec a, Vec b) { return {_mm256_cmp_ps(a.v, b.v, _CMP_LE_OQ)}; }
inline Mask gt(Vec a, Vec b) { return {_mm256_cmp_ps(a.v, b.v, _CMP_GT_OQ)}; }
inline Mask ge(Vec a, Vec b) { return {_mm256_cmp_ps(a.v, b.v, _CMP_GE_OQ)}; }
inline Mask eq(Vec a, Vec b) { return {_mm256_cmp_ps(a.v, b.v, _CMP_EQ_OQ)}; }
inline Mask ne(Vec a, Vec b) { return {_mm256_cmp_ps(a.v, b.v, _CMP_NEQ_UQ)}; }
inline Mask is_nan(Vec a) { return {_mm256_cmp_ps(a.v, a.v, _CMP_UNORD_Q)}; }
inline Vec select(Mask m, Vec a, Vec b) { return {_mm256_blendv_ps(b.v, a.v, m.m)}; }

// Lanes compared in halves, then quarters, then pairs.
inline float Vec::reduce_min() const {
  Vec r = min(*this, Vec{_mm256_permute2f128_ps(v, v, 1)});
  r = min(r, Vec{_mm256_permute_ps(r.v, 0x4E)});
  r = min(r, Vec{_mm256_permute_ps(r.v, 0xB1)});
  return _mm256_cvtss_f32(r.v);
}
inline float Vec::reduce_max() const {
  Vec r = max(*this, Vec{_mm256_permute2f128_ps(v, v, 1)});
  r = max(r, Vec{_mm256_permute_ps(r.v, 0x4E)});
  r = max(r, Vec{_mm256_permute_ps(r.v, 0xB1)});
  return _mm256_cvtss_f32(r.v);
}

// Transposed horizontal sum (see vec_scalar.h): three rounds of vhaddps,
// which adds adjacent pairs within each 128-bit half (a row's pairs, then
// its pairs of pairs), and a last add of the two halves: the pairwise tree.
inline Vec transpose_sum(const Vec* rows) {
  const __m256 t0 = _mm256_hadd_ps(rows[0].v, rows[1].v), t1 = _mm256_hadd_ps(rows[2].v, rows[3].v);
  const __m256 t2 = _mm256_hadd_ps(rows[4].v, rows[5].v), t3 = _mm256_hadd_ps(rows[6].v, rows[7].v);
  // Half h of u0 holds rows 0..3's sums of lanes 4h..4h+3, u1 rows 4..7's.
  const __m256 u0 = _mm256_hadd_ps(t0, t1), u1 = _mm256_hadd_ps(t2, t3);
  return {_mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20), _mm256_permute2f128_ps(u0, u1, 0x31))};
}

struct IntVec {
  static constexpr int kWidth = 8;
  __m256i v;

  static inline IntVec zero() { return {_mm256_setzero_si256()}; }
  static inline IntVec set1(int32_t a) { return {_mm256_set1_epi32(a)}; }
  static inline IntVec load(const int32_t* p) {
    return {_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))};
  }
  inline void store(int32_t* p) const { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v); }
};

inline IntVec operator+(IntVec a, IntVec b) { return {_mm256_add_epi32(a.v, b.v)}; }
inline IntVec operator-(IntVec a, IntVec b) { return {_mm256_sub_epi32(a.v, b.v)}; }
inline IntVec operator&(IntVec a, IntVec b) { return {_mm256_and_si256(a.v, b.v)}; }
inline IntVec operator|(IntVec a, IntVec b) { return {_mm256_or_si256(a.v, b.v)}; }
inline IntVec operator^(IntVec a, IntVec b) { return {_mm256_xor_si256(a.v, b.v)}; }
template <int k>
inline IntVec shl(IntVec a) {
  static_assert(k >= 1 && k <= 31, "shift count");
  return {_mm256_slli_epi32(a.v, k)};
}
template <int k>
inline IntVec shr(IntVec a) {
  static_assert(k >= 1 && k <= 31, "shift count");
  return {_mm256_srli_epi32(a.v, k)};
}
template <int k>
inline IntVec sar(IntVec a) {
  static_assert(k >= 1 && k <= 31, "shift count");
  return {_mm256_srai_epi32(a.v, k)};
}
inline Mask eq(IntVec a, IntVec b) { return {_mm256_castsi256_ps(_mm256_cmpeq_epi32(a.v, b.v))}; }
inline Mask gt(IntVec a, IntVec b) { return {_mm256_castsi256_ps(_mm256_cmpgt_epi32(a.v, b.v))}; }

inline IntVec convert_to_int(Vec a) { return {_mm256_cvtps_epi32(a.v)}; }  // MXCSR: nearest even
inline Vec convert_to_float(IntVec a) { return {_mm256_cvtepi32_ps(a.v)}; }
inline IntVec bitcast_to_int(Vec a) { return {_mm256_castps_si256(a.v)}; }
inline Vec bitcast_to_float(IntVec a) { return {_mm256_castsi256_ps(a.v)}; }

}  // namespace avx2
}  // namespace vec
}  // namespace instnorm
