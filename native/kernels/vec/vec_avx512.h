// 16 x fp32 in one ZMM register; needs -mavx512f -mavx512bw -mavx512vl
// -mavx2 -mfma. The Vec API of vec_scalar.h, with AVX-512F instructions
// only (DQ is not required). Masks are opmask registers; masked loads and
// stores neither read nor write the masked-off lanes (and cannot fault).
#pragma once
#if defined(INSTNORM_EMULATE_AVX512)
#include "../../test/avx512_emulation.h"  // kernel tests on CPUs without AVX-512
#else
// GCC 12 warns inside its own avx512fintrin.h about _mm512_undefined_*
// (used by _mm512_cvtps_pd and _mm512_extractf64x4_pd): a false positive
// in the header, silenced for the header's lines only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif

#include <cstdint>

namespace instnorm {
namespace vec {
namespace avx512 {

struct Mask {
  __mmask16 k;

  // Lanes [0, n) set, 0 <= n <= 16.
  static inline Mask first_n(int n) { return {static_cast<__mmask16>((1u << n) - 1u)}; }
};

inline Mask operator&(Mask a, Mask b) { return {static_cast<__mmask16>(a.k & b.k)}; }
inline Mask operator|(Mask a, Mask b) { return {static_cast<__mmask16>(a.k | b.k)}; }
inline Mask operator^(Mask a, Mask b) { return {static_cast<__mmask16>(a.k ^ b.k)}; }
inline Mask operator~(Mask a) { return {static_cast<__mmask16>(~a.k)}; }
inline bool any(Mask a) { return a.k != 0; }
inline bool all(Mask a) { return a.k == 0xFFFF; }

struct IntVec;

struct Vec {
  using Mask = avx512::Mask;   // comparisons, select, masked loads and stores
  using Int = avx512::IntVec;  // int32 lanes of the same width
  static constexpr int kWidth = 16;
  __m512 v;

  static inline __mmask16 mask(int n) { return Mask::first_n(n).k; }
  static inline Vec zero() { return {_mm512_setzero_ps()}; }
  static inline Vec set1(float a) { return {_mm512_set1_ps(a)}; }
  // Two 32-byte halves: the arrays JavaScript hands us start 16 bytes into a
  // cache line (glibc's malloc), where every 64-byte load straddles two
  // lines and memory-bound loops ran up to 20% slower than with AVX2; as
  // halves, half of the loads straddle, as with AVX2. (Aligning the loops
  // instead would make the sums depend on where the data sits in memory.)
  static inline Vec load(const float* p) {
    const __m512d lo = _mm512_castpd256_pd512(_mm256_castps_pd(_mm256_loadu_ps(p)));
    return {_mm512_castpd_ps(_mm512_insertf64x4(lo, _mm256_castps_pd(_mm256_loadu_ps(p + 8)), 1))};
  }
  static inline Vec load_partial(const float* p, int n, float fill) {
    return {_mm512_mask_loadu_ps(_mm512_set1_ps(fill), mask(n), p)};
  }
  static inline Vec load_masked(const float* p, Mask m, float fill) {
    return {_mm512_mask_loadu_ps(_mm512_set1_ps(fill), m.k, p)};
  }
  inline void store(float* p) const { _mm512_storeu_ps(p, v); }
  inline void store_partial(float* p, int n) const {
    _mm512_mask_storeu_ps(p, mask(n), v);
  }
  inline void store_masked(float* p, Mask m) const { _mm512_mask_storeu_ps(p, m.k, v); }
  // Non-temporal store (p 64-byte aligned): see vec_avx2.h.
  inline void stream(float* p) const { _mm512_stream_ps(p, v); }
  static inline void fence() { _mm_sfence(); }
  inline void store_double(double* p) const {
    _mm512_storeu_pd(p, _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
    _mm512_storeu_pd(p + 8, _mm512_cvtps_pd(high_half()));
  }
  inline double sum() const {
    const __m256 lo = _mm512_castps512_ps256(v);
    return _mm512_reduce_add_pd(
        _mm512_add_pd(_mm512_cvtps_pd(lo), _mm512_cvtps_pd(high_half())));
  }
  inline float reduce_min() const;
  inline float reduce_max() const;

 private:
  // Lanes 8..15 (extracted as doubles: the float form needs AVX512DQ).
  inline __m256 high_half() const {
    return _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
  }
};

inline __m512 sign_bits() { return _mm512_castsi512_ps(_mm512_set1_epi32(INT32_MIN)); }

inline Vec operator+(Vec a, Vec b) { return {_mm512_add_ps(a.v, b.v)}; }
inline Vec operator-(Vec a, Vec b) { return {_mm512_sub_ps(a.v, b.v)}; }
inline Vec operator*(Vec a, Vec b) { return {_mm512_mul_ps(a.v, b.v)}; }
inline Vec operator/(Vec a, Vec b) { return {_mm512_div_ps(a.v, b.v)}; }
inline Vec operator-(Vec a) {
  return {_mm512_castsi512_ps(
      _mm512_xor_si512(_mm512_castps_si512(a.v), _mm512_castps_si512(sign_bits())))};
}
inline Vec fmadd(Vec a, Vec b, Vec c) { return {_mm512_fmadd_ps(a.v, b.v, c.v)}; }
// vminps returns its second operand when either is NaN: those lanes take
// a + b instead, which is NaN.
inline Vec min(Vec a, Vec b) {
  const __mmask16 nan = _mm512_cmp_ps_mask(a.v, b.v, _CMP_UNORD_Q);
  return {_mm512_mask_add_ps(_mm512_min_ps(a.v, b.v), nan, a.v, b.v)};
}
inline Vec max(Vec a, Vec b) {
  const __mmask16 nan = _mm512_cmp_ps_mask(a.v, b.v, _CMP_UNORD_Q);
  return {_mm512_mask_add_ps(_mm512_max_ps(a.v, b.v), nan, a.v, b.v)};
}
inline Vec abs(Vec a) {
  return {_mm512_castsi512_ps(
      _mm512_andnot_si512(_mm512_castps_si512(sign_bits()), _mm512_castps_si512(a.v)))};
}
inline Vec sqrt(Vec a) { return {_mm512_sqrt_ps(a.v)}; }
inline Vec round(Vec a) {
  return {_mm512_roundscale_ps(a.v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)};
}
inline Vec floor(Vec a) {
  return {_mm512_roundscale_ps(a.v, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC)};
}

inline Mask lt(Vec a, Vec b) { return {_mm512_cmp_ps_mask(a.v, b.v, _CMP_LT_OQ)}; }
inline Mask le(Vec a, Vec b) { return {_mm512_cmp_ps_mask(a.v, b.v, _CMP_LE_OQ)}; }
inline Mask gt(Vec a, Vec b) { return {_mm512_cmp_ps_mask(a.v, b.v, _CMP_GT_OQ)}; }
inline Mask ge(Vec a, Vec b) { return {_mm512_cmp_ps_mask(a.v, b.v, _CMP_GE_OQ)}; }
inline Mask eq(Vec a, Vec b) { return {_mm512_cmp_ps_mask(a.v, b.v, _CMP_EQ_OQ)}; }
inline Mask ne(Vec a, Vec b) { return {_mm512_cmp_ps_mask(a.v, b.v, _CMP_NEQ_UQ)}; }
inline Mask is_nan(Vec a) { return {_mm512_cmp_ps_mask(a.v, a.v, _CMP_UNORD_Q)}; }
inline Vec select(Mask m, Vec a, Vec b) { return {_mm512_mask_blend_ps(m.k, b.v, a.v)}; }

// Lanes compared in halves, quarters, pairs, then neighbours.
inline float Vec::reduce_min() const {
  Vec r = min(*this, Vec{_mm512_shuffle_f32x4(v, v, 0x4E)});
  r = min(r, Vec{_mm512_shuffle_f32x4(r.v, r.v, 0xB1)});
  r = min(r, Vec{_mm512_permute_ps(r.v, 0x4E)});
  r = min(r, Vec{_mm512_permute_ps(r.v, 0xB1)});
  return _mm512_cvtss_f32(r.v);
}
inline float Vec::reduce_max() const {
  Vec r = max(*this, Vec{_mm512_shuffle_f32x4(v, v, 0x4E)});
  r = max(r, Vec{_mm512_shuffle_f32x4(r.v, r.v, 0xB1)});
  r = max(r, Vec{_mm512_permute_ps(r.v, 0x4E)});
  r = max(r, Vec{_mm512_permute_ps(r.v, 0xB1)});
  return _mm512_cvtss_f32(r.v);
}

// Adjacent pairs within each 128-bit block, as vhaddps does on AVX:
// [a0+a1, a2+a3, b0+b1, b2+b3] per block.
inline __m512 hadd_blocks(__m512 a, __m512 b) {
  return _mm512_add_ps(_mm512_shuffle_ps(a, b, 0x88), _mm512_shuffle_ps(a, b, 0xDD));
}
// Blocks 0 and 2 of a and of b plus blocks 1 and 3: adjacent blocks added.
inline __m512 add_block_pairs(__m512 a, __m512 b) {
  return _mm512_add_ps(_mm512_shuffle_f32x4(a, b, 0x88), _mm512_shuffle_f32x4(a, b, 0xDD));
}

// Transposed horizontal sum (see vec_scalar.h), as the pairwise tree: two
// rounds of pairs within 128-bit blocks leave, in block q of u[m], the sums
// of lanes 4q..4q+3 of rows 4m..4m+3; then adjacent blocks are added twice.
inline Vec transpose_sum(const Vec* rows) {
  __m512 t[8], u[4];
  for (int i = 0; i < 8; ++i) t[i] = hadd_blocks(rows[2 * i].v, rows[2 * i + 1].v);
  for (int i = 0; i < 4; ++i) u[i] = hadd_blocks(t[2 * i], t[2 * i + 1]);
  const __m512 v0 = add_block_pairs(u[0], u[1]), v1 = add_block_pairs(u[2], u[3]);
  return {add_block_pairs(v0, v1)};
}

struct IntVec {
  static constexpr int kWidth = 16;
  __m512i v;

  static inline IntVec zero() { return {_mm512_setzero_si512()}; }
  static inline IntVec set1(int32_t a) { return {_mm512_set1_epi32(a)}; }
  static inline IntVec load(const int32_t* p) { return {_mm512_loadu_si512(p)}; }
  inline void store(int32_t* p) const { _mm512_storeu_si512(p, v); }
};

inline IntVec operator+(IntVec a, IntVec b) { return {_mm512_add_epi32(a.v, b.v)}; }
inline IntVec operator-(IntVec a, IntVec b) { return {_mm512_sub_epi32(a.v, b.v)}; }
inline IntVec operator&(IntVec a, IntVec b) { return {_mm512_and_si512(a.v, b.v)}; }
inline IntVec operator|(IntVec a, IntVec b) { return {_mm512_or_si512(a.v, b.v)}; }
inline IntVec operator^(IntVec a, IntVec b) { return {_mm512_xor_si512(a.v, b.v)}; }
template <int k>
inline IntVec shl(IntVec a) {
  static_assert(k >= 1 && k <= 31, "shift count");
  return {_mm512_slli_epi32(a.v, k)};
}
template <int k>
inline IntVec shr(IntVec a) {
  static_assert(k >= 1 && k <= 31, "shift count");
  return {_mm512_srli_epi32(a.v, k)};
}
template <int k>
inline IntVec sar(IntVec a) {
  static_assert(k >= 1 && k <= 31, "shift count");
  return {_mm512_srai_epi32(a.v, k)};
}
inline Mask eq(IntVec a, IntVec b) { return {_mm512_cmpeq_epi32_mask(a.v, b.v)}; }
inline Mask gt(IntVec a, IntVec b) { return {_mm512_cmpgt_epi32_mask(a.v, b.v)}; }

inline IntVec convert_to_int(Vec a) { return {_mm512_cvtps_epi32(a.v)}; }  // MXCSR: nearest even
inline Vec convert_to_float(IntVec a) { return {_mm512_cvtepi32_ps(a.v)}; }
inline IntVec bitcast_to_int(Vec a) { return {_mm512_castps_si512(a.v)}; }
inline Vec bitcast_to_float(IntVec a) { return {_mm512_castsi512_ps(a.v)}; }

}  // namespace avx512
}  // namespace vec
}  // namespace instnorm
