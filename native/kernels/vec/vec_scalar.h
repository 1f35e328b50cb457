// Portable "vector" of 8 floats written as plain loops. Compiled without ISA
// flags it is the baseline path; compilers turn the loops into SSE2 (x86-64)
// or Advanced SIMD (arm64) code, both of which every CPU of those
// architectures has. Eight lanes keep the fp32 partial sums as short as the
// AVX2 path's, so the scalar path is as accurate as the SIMD ones.
#pragma once

namespace instnorm {
namespace vec {
namespace scalar {

struct Vec {
  static constexpr int kWidth = 8;
  float v[kWidth];

  static inline Vec zero() { return set1(0.0f); }
  static inline Vec set1(float a) {
    Vec r;
    for (int i = 0; i < kWidth; ++i) r.v[i] = a;
    return r;
  }
  static inline Vec load(const float* p) {
    Vec r;
    for (int i = 0; i < kWidth; ++i) r.v[i] = p[i];
    return r;
  }
  // Lanes [n, kWidth) are set to `fill`; only p[0..n) is read.
  static inline Vec load_partial(const float* p, int n, float fill) {
    Vec r;
    for (int i = 0; i < kWidth; ++i) r.v[i] = i < n ? p[i] : fill;
    return r;
  }
  inline void store(float* p) const {
    for (int i = 0; i < kWidth; ++i) p[i] = v[i];
  }
  inline void store_partial(float* p, int n) const {
    for (int i = 0; i < n; ++i) p[i] = v[i];
  }
  // The portable path has no non-temporal store: a plain store.
  inline void stream(float* p) const { store(p); }
  static inline void fence() {}
  // Horizontal sum, widened to double before adding.
  inline double sum() const {
    double s = 0.0;
    for (int i = 0; i < kWidth; ++i) s += static_cast<double>(v[i]);
    return s;
  }
};

inline Vec operator+(const Vec& a, const Vec& b) {
  Vec r;
  for (int i = 0; i < Vec::kWidth; ++i) r.v[i] = a.v[i] + b.v[i];
  return r;
}
inline Vec operator-(const Vec& a, const Vec& b) {
  Vec r;
  for (int i = 0; i < Vec::kWidth; ++i) r.v[i] = a.v[i] - b.v[i];
  return r;
}
inline Vec operator*(const Vec& a, const Vec& b) {
  Vec r;
  for (int i = 0; i < Vec::kWidth; ++i) r.v[i] = a.v[i] * b.v[i];
  return r;
}
// a * b + c. Not a fused operation on this path (no FMA in the baseline
// ISA); the SIMD paths fuse it, which is one of the reasons ISAs may differ
// in the last bit.
inline Vec fmadd(const Vec& a, const Vec& b, const Vec& c) {
  Vec r;
  for (int i = 0; i < Vec::kWidth; ++i) r.v[i] = a.v[i] * b.v[i] + c.v[i];
  return r;
}

}  // namespace scalar
}  // namespace vec
}  // namespace instnorm
