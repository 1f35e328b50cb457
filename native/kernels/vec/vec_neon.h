// 4 x fp32 in one Advanced SIMD register (baseline on arm64). NEON has no
// masked load: tails go through a small stack buffer so that nothing past
// the caller's last element is read or written.
#pragma once
#include <arm_neon.h>

namespace instnorm {
namespace vec {
namespace neon {

struct Vec {
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
  inline void store(float* p) const { vst1q_f32(p, v); }
  inline void store_partial(float* p, int n) const {
    float buf[kWidth];
    vst1q_f32(buf, v);
    for (int i = 0; i < n; ++i) p[i] = buf[i];
  }
  // No non-temporal store worth using here: a plain store.
  inline void stream(float* p) const { vst1q_f32(p, v); }
  static inline void fence() {}
  inline double sum() const {
    const float64x2_t a = vcvt_f64_f32(vget_low_f32(v));
    const float64x2_t b = vcvt_high_f64_f32(v);
    return vaddvq_f64(vaddq_f64(a, b));
  }
};

inline Vec operator+(Vec a, Vec b) { return {vaddq_f32(a.v, b.v)}; }
inline Vec operator-(Vec a, Vec b) { return {vsubq_f32(a.v, b.v)}; }
inline Vec operator*(Vec a, Vec b) { return {vmulq_f32(a.v, b.v)}; }
inline Vec fmadd(Vec a, Vec b, Vec c) { return {vfmaq_f32(c.v, a.v, b.v)}; }

}  // namespace neon
}  // namespace vec
}  // namespace instnorm
