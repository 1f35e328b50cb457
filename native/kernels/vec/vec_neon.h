// 4 x fp32 in one Advanced SIMD register (baseline on arm64). The Vec API
// of vec_scalar.h. NEON has no masked load: tails and masked accesses go
// lane by lane through a small stack buffer, so that nothing outside the
// selected lanes is read or written. Masks are vectors of all-ones /
// all-zero lanes.
#pragma once
#include <arm_neon.h>

#include <cstdint>

namespace instnorm {
namespace vec {
namespace neon {

struct Mask {
  uint32x4_t m;

  // Lanes [0, n) set, 0 <= n <= 4.
  static inline Mask first_n(int n) {
    const uint32_t iota[4] = {0, 1, 2, 3};
    return {vcltq_u32(vld1q_u32(iota), vdupq_n_u32(static_cast<uint32_t>(n)))};
  }
};

inline Mask operator&(Mask a, Mask b) { return {vandq_u32(a.m, b.m)}; }
inline Mask operator|(Mask a, Mask b) { return {vorrq_u32(a.m, b.m)}; }
inline Mask operator^(Mask a, Mask b) { return {veorq_u32(a.m, b.m)}; }
inline Mask operator~(Mask a) { return {vmvnq_u32(a.m)}; }
inline bool any(Mask a) { return vmaxvq_u32(a.m) != 0; }
inline bool all(Mask a) { return vminvq_u32(a.m) != 0; }

struct IntVec;

struct Vec {
  using Mask = neon::Mask;   // comparisons, select, masked loads and stores
  using Int = neon::IntVec;  // int32 lanes of the same width
  static constexpr int kWidth = 4;
  float32x4_t v;

  static inline Vec zero() { return {vdupq_n_f32(0.0f)}; }
  static inline Vec set1(float a) { return {vdupq_n_f32(a)}; }
  static inline Vec load(const float* p) { return {vld1q_f32(p)}; }
  static inline Vec load_partial(const float* p, int n, float fill) {
    float buf[kWidth] = {fill, fill, fill, fill};
    for (int i = 0; i < n; ++i) buf[i] = p[i];
    return {vld1q_f32(buf)};
  }
  static inline Vec load_masked(const float* p, Mask m, float fill) {
    uint32_t sel[kWidth];
    vst1q_u32(sel, m.m);
    float buf[kWidth] = {fill, fill, fill, fill};
    for (int i = 0; i < kWidth; ++i) {
      if (sel[i]) buf[i] = p[i];
    }
    return {vld1q_f32(buf)};
  }
  inline void store(float* p) const { vst1q_f32(p, v); }
  inline void store_partial(float* p, int n) const {
    float buf[kWidth];
    vst1q_f32(buf, v);
    for (int i = 0; i < n; ++i) p[i] = buf[i];
  }
  inline void store_masked(float* p, Mask m) const {
    uint32_t sel[kWidth];
    vst1q_u32(sel, m.m);
    float buf[kWidth];
    vst1q_f32(buf, v);
    for (int i = 0; i < kWidth; ++i) {
      if (sel[i]) p[i] = buf[i];
    }
  }
  // No non-temporal store worth using here: a plain store.
  inline void stream(float* p) const { vst1q_f32(p, v); }
  static inline void fence() {}
  inline void store_double(double* p) const {
    vst1q_f64(p, vcvt_f64_f32(vget_low_f32(v)));
    vst1q_f64(p + 2, vcvt_high_f64_f32(v));
  }
  inline double sum() const {
    const float64x2_t a = vcvt_f64_f32(vget_low_f32(v));
    const float64x2_t b = vcvt_high_f64_f32(v);
    return vaddvq_f64(vaddq_f64(a, b));
  }
  // fminv/fmaxv propagate NaN, as min/max do.
  inline float reduce_min() const { return vminvq_f32(v); }
  inline float reduce_max() const { return vmaxvq_f32(v); }
};

inline Vec operator+(Vec a, Vec b) { return {vaddq_f32(a.v, b.v)}; }
inline Vec operator-(Vec a, Vec b) { return {vsubq_f32(a.v, b.v)}; }
inline Vec operator*(Vec a, Vec b) { return {vmulq_f32(a.v, b.v)}; }
inline Vec operator/(Vec a, Vec b) { return {vdivq_f32(a.v, b.v)}; }
inline Vec operator-(Vec a) { return {vnegq_f32(a.v)}; }
inline Vec fmadd(Vec a, Vec b, Vec c) { return {vfmaq_f32(c.v, a.v, b.v)}; }
// fmin/fmax: NaN if either is NaN (the default NaN), -0 < +0.
inline Vec min(Vec a, Vec b) { return {vminq_f32(a.v, b.v)}; }
inline Vec max(Vec a, Vec b) { return {vmaxq_f32(a.v, b.v)}; }
inline Vec abs(Vec a) { return {vabsq_f32(a.v)}; }
inline Vec sqrt(Vec a) { return {vsqrtq_f32(a.v)}; }
inline Vec round(Vec a) { return {vrndnq_f32(a.v)}; }
inline Vec floor(Vec a) { return {vrndmq_f32(a.v)}; }

inline Mask lt(Vec a, Vec b) { return {vcltq_f32(a.v, b.v)}; }
inline Mask le(Vec a, Vec b) { return {vcleq_f32(a.v, b.v)}; }
inline Mask gt(Vec a, Vec b) { return {vcgtq_f32(a.v, b.v)}; }
inline Mask ge(Vec a, Vec b) { return {vcgeq_f32(a.v, b.v)}; }
inline Mask eq(Vec a, Vec b) { return {vceqq_f32(a.v, b.v)}; }
inline Mask ne(Vec a, Vec b) { return {vmvnq_u32(vceqq_f32(a.v, b.v))}; }
inline Mask is_nan(Vec a) { return ne(a, a); }
inline Vec select(Mask m, Vec a, Vec b) { return {vbslq_f32(m.m, a.v, b.v)}; }

// Transposed horizontal sum (see vec_scalar.h): faddp adds adjacent pairs,
// twice, which is the pairwise tree.
inline Vec transpose_sum(const Vec* rows) {
  return {vpaddq_f32(vpaddq_f32(rows[0].v, rows[1].v), vpaddq_f32(rows[2].v, rows[3].v))};
}

struct IntVec {
  static constexpr int kWidth = 4;
  int32x4_t v;

  static inline IntVec zero() { return {vdupq_n_s32(0)}; }
  static inline IntVec set1(int32_t a) { return {vdupq_n_s32(a)}; }
  static inline IntVec load(const int32_t* p) { return {vld1q_s32(p)}; }
  inline void store(int32_t* p) const { vst1q_s32(p, v); }
};

inline IntVec operator+(IntVec a, IntVec b) { return {vaddq_s32(a.v, b.v)}; }
inline IntVec operator-(IntVec a, IntVec b) { return {vsubq_s32(a.v, b.v)}; }
inline IntVec operator&(IntVec a, IntVec b) { return {vandq_s32(a.v, b.v)}; }
inline IntVec operator|(IntVec a, IntVec b) { return {vorrq_s32(a.v, b.v)}; }
inline IntVec operator^(IntVec a, IntVec b) { return {veorq_s32(a.v, b.v)}; }
template <int k>
inline IntVec shl(IntVec a) {
  static_assert(k >= 1 && k <= 31, "shift count");
  return {vshlq_n_s32(a.v, k)};
}
template <int k>
inline IntVec shr(IntVec a) {
  static_assert(k >= 1 && k <= 31, "shift count");
  return {vreinterpretq_s32_u32(vshrq_n_u32(vreinterpretq_u32_s32(a.v), k))};
}
template <int k>
inline IntVec sar(IntVec a) {
  static_assert(k >= 1 && k <= 31, "shift count");
  return {vshrq_n_s32(a.v, k)};
}
inline Mask eq(IntVec a, IntVec b) { return {vceqq_s32(a.v, b.v)}; }
inline Mask gt(IntVec a, IntVec b) { return {vcgtq_s32(a.v, b.v)}; }

inline IntVec convert_to_int(Vec a) { return {vcvtnq_s32_f32(a.v)}; }  // nearest even, saturating
inline Vec convert_to_float(IntVec a) { return {vcvtq_f32_s32(a.v)}; }
inline IntVec bitcast_to_int(Vec a) { return {vreinterpretq_s32_f32(a.v)}; }
inline Vec bitcast_to_float(IntVec a) { return {vreinterpretq_f32_s32(a.v)}; }

}  // namespace neon
}  // namespace vec
}  // namespace instnorm
