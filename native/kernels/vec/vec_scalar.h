// Portable "vector" of 8 floats written as plain loops. Compiled without ISA
// flags it is the baseline path; compilers turn the loops into SSE2 (x86-64)
// or Advanced SIMD (arm64) code, both of which every CPU of those
// architectures has. Eight lanes keep the fp32 partial sums as short as the
// AVX2 path's, so the scalar path is as accurate as the SIMD ones.
//
// This file is also the reference of the Vec API, which every vec_<isa>.h
// implements with the same names and semantics (native/README.md lists it;
// native/test/vec_test.cc checks every ISA against these definitions):
//   Vec      kWidth fp32 lanes. zero, set1, load, load_partial, load_masked;
//            store, store_partial, store_masked, stream (+ fence), store_double;
//            sum (in double), reduce_min, reduce_max;
//            transpose_sum(rows) (kWidth vectors -> one: lane j sums rows[j]);
//            + - * / and unary -, fmadd, min, max, abs, sqrt, round, floor;
//            lt le gt ge eq ne is_nan -> Mask; select(mask, a, b).
//   Mask     (V::Mask) one bool per lane. first_n, & | ^ ~, any, all.
//   IntVec   (V::Int) kWidth int32 lanes. zero, set1, load, store; + - & | ^;
//            shl<k>, shr<k> (logical), sar<k> (arithmetic), 1 <= k <= 31;
//            eq, gt -> Mask.
//   convert_to_int (round to nearest even), convert_to_float,
//   bitcast_to_int, bitcast_to_float (the same 32 bits reinterpreted).
// Where ISAs may differ, the API says so: which zero min/max return for
// (-0, +0), the NaN bit pattern they return, and convert_to_int beyond the
// int32 range. Rounding assumes the default mode (Node never changes it).
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

// The kernels' store loops are flattened for this Vec (kernel_common.h says why).
#define INSTNORM_VEC_FLATTEN_STORE_LOOPS 1
// This Vec's operations are lane loops that only become SIMD code through
// GCC's SLP vectorizer: kernels may shape hot loops for it (plane_batch.h).
#define INSTNORM_VEC_LANE_LOOPS 1

namespace instnorm {
namespace vec {
namespace scalar {

constexpr int kLanes = 8;

struct Mask {
  bool m[kLanes];

  // Lanes [0, n) set, 0 <= n <= kWidth.
  static inline Mask first_n(int n) {
    Mask r;
    for (int i = 0; i < kLanes; ++i) r.m[i] = i < n;
    return r;
  }
};

inline Mask operator&(const Mask& a, const Mask& b) {
  Mask r;
  for (int i = 0; i < kLanes; ++i) r.m[i] = a.m[i] && b.m[i];
  return r;
}
inline Mask operator|(const Mask& a, const Mask& b) {
  Mask r;
  for (int i = 0; i < kLanes; ++i) r.m[i] = a.m[i] || b.m[i];
  return r;
}
inline Mask operator^(const Mask& a, const Mask& b) {
  Mask r;
  for (int i = 0; i < kLanes; ++i) r.m[i] = a.m[i] != b.m[i];
  return r;
}
inline Mask operator~(const Mask& a) {
  Mask r;
  for (int i = 0; i < kLanes; ++i) r.m[i] = !a.m[i];
  return r;
}
inline bool any(const Mask& a) {
  bool r = false;
  for (int i = 0; i < kLanes; ++i) r = r || a.m[i];
  return r;
}
inline bool all(const Mask& a) {
  bool r = true;
  for (int i = 0; i < kLanes; ++i) r = r && a.m[i];
  return r;
}

// NaN if either is NaN, else the smaller (larger) value; for (-0, +0)
// either zero (here: b).
inline float lane_min(float a, float b) { return a != a || b != b ? a + b : (a < b ? a : b); }
inline float lane_max(float a, float b) { return a != a || b != b ? a + b : (a > b ? a : b); }

struct IntVec;

struct Vec {
  using Mask = scalar::Mask;   // comparisons, select, masked loads and stores
  using Int = scalar::IntVec;  // int32 lanes of the same width
  static constexpr int kWidth = kLanes;
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
  // Lanes outside the mask are set to `fill`; their memory is not read.
  static inline Vec load_masked(const float* p, const Mask& m, float fill) {
    Vec r;
    for (int i = 0; i < kWidth; ++i) r.v[i] = m.m[i] ? p[i] : fill;
    return r;
  }
  inline void store(float* p) const {
    for (int i = 0; i < kWidth; ++i) p[i] = v[i];
  }
  // Writes p[0..n) only.
  inline void store_partial(float* p, int n) const {
    for (int i = 0; i < n; ++i) p[i] = v[i];
  }
  // Writes the masked lanes only.
  inline void store_masked(float* p, const Mask& m) const {
    for (int i = 0; i < kWidth; ++i) {
      if (m.m[i]) p[i] = v[i];
    }
  }
  // The portable path has no non-temporal store: a plain store.
  inline void stream(float* p) const { store(p); }
  static inline void fence() {}
  // p[0..kWidth) = the lanes widened to double (exact).
  inline void store_double(double* p) const {
    for (int i = 0; i < kWidth; ++i) p[i] = static_cast<double>(v[i]);
  }
  // Horizontal sum, widened to double before adding.
  inline double sum() const {
    double s = 0.0;
    for (int i = 0; i < kWidth; ++i) s += static_cast<double>(v[i]);
    return s;
  }
  // Smallest (largest) lane; NaN if any lane is NaN.
  inline float reduce_min() const {
    float r = v[0];
    for (int i = 1; i < kWidth; ++i) r = lane_min(r, v[i]);
    return r;
  }
  inline float reduce_max() const {
    float r = v[0];
    for (int i = 1; i < kWidth; ++i) r = lane_max(r, v[i]);
    return r;
  }
};

// Transposed horizontal sum: lane j of the result is the sum of the lanes
// of rows[j] (rows holds kWidth vectors), in fp32. Reduces kWidth runs at
// once for about the cost of two horizontal sums. The lanes of a row are
// added as a pairwise tree, adjacent pairs first: for 8 lanes
// ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)); every ISA adds in this
// order for its width, so lane j depends on rows[j] alone and identically
// for every j (a result never depends on which rows share the call).
inline Vec transpose_sum(const Vec* rows) {
  Vec r;
  for (int j = 0; j < Vec::kWidth; ++j) {
    float t[Vec::kWidth];
    for (int i = 0; i < Vec::kWidth; ++i) t[i] = rows[j].v[i];
    for (int w = Vec::kWidth / 2; w >= 1; w /= 2) {
      for (int i = 0; i < w; ++i) t[i] = t[2 * i] + t[2 * i + 1];
    }
    r.v[j] = t[0];
  }
  return r;
}

// Applies f lane by lane.
template <class F>
inline Vec map_lanes(const Vec& a, const Vec& b, F f) {
  Vec r;
  for (int i = 0; i < Vec::kWidth; ++i) r.v[i] = f(a.v[i], b.v[i]);
  return r;
}
template <class F>
inline Mask compare_lanes(const Vec& a, const Vec& b, F f) {
  Mask r;
  for (int i = 0; i < Vec::kWidth; ++i) r.m[i] = f(a.v[i], b.v[i]);
  return r;
}

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
inline Vec operator/(const Vec& a, const Vec& b) {
  return map_lanes(a, b, [](float x, float y) { return x / y; });
}
inline Vec operator-(const Vec& a) {
  return map_lanes(a, a, [](float x, float) { return -x; });
}
// a * b + c. Not a fused operation on this path (no FMA in the baseline
// ISA); the SIMD paths fuse it, which is one of the reasons ISAs may differ
// in the last bit.
inline Vec fmadd(const Vec& a, const Vec& b, const Vec& c) {
  Vec r;
  for (int i = 0; i < Vec::kWidth; ++i) r.v[i] = a.v[i] * b.v[i] + c.v[i];
  return r;
}
inline Vec min(const Vec& a, const Vec& b) { return map_lanes(a, b, lane_min); }
inline Vec max(const Vec& a, const Vec& b) { return map_lanes(a, b, lane_max); }
inline Vec abs(const Vec& a) {
  return map_lanes(a, a, [](float x, float) { return std::fabs(x); });
}
inline Vec sqrt(const Vec& a) {
  return map_lanes(a, a, [](float x, float) { return std::sqrt(x); });
}
// To the nearest integer, ties to even (as a float).
inline Vec round(const Vec& a) {
  return map_lanes(a, a, [](float x, float) { return std::nearbyint(x); });
}
inline Vec floor(const Vec& a) {
  return map_lanes(a, a, [](float x, float) { return std::floor(x); });
}

// Ordered comparisons: false when either lane is NaN; ne is its negation
// of eq, so true when either is NaN.
inline Mask lt(const Vec& a, const Vec& b) {
  return compare_lanes(a, b, [](float x, float y) { return x < y; });
}
inline Mask le(const Vec& a, const Vec& b) {
  return compare_lanes(a, b, [](float x, float y) { return x <= y; });
}
inline Mask gt(const Vec& a, const Vec& b) {
  return compare_lanes(a, b, [](float x, float y) { return x > y; });
}
inline Mask ge(const Vec& a, const Vec& b) {
  return compare_lanes(a, b, [](float x, float y) { return x >= y; });
}
inline Mask eq(const Vec& a, const Vec& b) {
  return compare_lanes(a, b, [](float x, float y) { return x == y; });
}
inline Mask ne(const Vec& a, const Vec& b) {
  return compare_lanes(a, b, [](float x, float y) { return x != y; });
}
inline Mask is_nan(const Vec& a) { return ne(a, a); }

// m ? a : b, lane by lane.
inline Vec select(const Mask& m, const Vec& a, const Vec& b) {
  Vec r;
  for (int i = 0; i < Vec::kWidth; ++i) r.v[i] = m.m[i] ? a.v[i] : b.v[i];
  return r;
}

// Integer lanes, computed as uint32 so that overflow wraps (no undefined
// behaviour) as it does in SIMD registers.
struct IntVec {
  static constexpr int kWidth = kLanes;
  int32_t v[kWidth];

  static inline IntVec zero() { return set1(0); }
  static inline IntVec set1(int32_t a) {
    IntVec r;
    for (int i = 0; i < kWidth; ++i) r.v[i] = a;
    return r;
  }
  static inline IntVec load(const int32_t* p) {
    IntVec r;
    for (int i = 0; i < kWidth; ++i) r.v[i] = p[i];
    return r;
  }
  inline void store(int32_t* p) const {
    for (int i = 0; i < kWidth; ++i) p[i] = v[i];
  }
};

template <class F>
inline IntVec map_bits(const IntVec& a, const IntVec& b, F f) {
  IntVec r;
  for (int i = 0; i < IntVec::kWidth; ++i) {
    r.v[i] = static_cast<int32_t>(f(static_cast<uint32_t>(a.v[i]), static_cast<uint32_t>(b.v[i])));
  }
  return r;
}
inline IntVec operator+(const IntVec& a, const IntVec& b) {
  return map_bits(a, b, [](uint32_t x, uint32_t y) { return x + y; });
}
inline IntVec operator-(const IntVec& a, const IntVec& b) {
  return map_bits(a, b, [](uint32_t x, uint32_t y) { return x - y; });
}
inline IntVec operator&(const IntVec& a, const IntVec& b) {
  return map_bits(a, b, [](uint32_t x, uint32_t y) { return x & y; });
}
inline IntVec operator|(const IntVec& a, const IntVec& b) {
  return map_bits(a, b, [](uint32_t x, uint32_t y) { return x | y; });
}
inline IntVec operator^(const IntVec& a, const IntVec& b) {
  return map_bits(a, b, [](uint32_t x, uint32_t y) { return x ^ y; });
}
template <int k>
inline IntVec shl(const IntVec& a) {
  static_assert(k >= 1 && k <= 31, "shift count");
  return map_bits(a, a, [](uint32_t x, uint32_t) { return x << k; });
}
template <int k>
inline IntVec shr(const IntVec& a) {
  static_assert(k >= 1 && k <= 31, "shift count");
  return map_bits(a, a, [](uint32_t x, uint32_t) { return x >> k; });
}
template <int k>
inline IntVec sar(const IntVec& a) {
  static_assert(k >= 1 && k <= 31, "shift count");
  // Sign-filling without relying on >> of a negative value.
  return map_bits(a, a, [](uint32_t x, uint32_t) {
    return (x >> k) | ((x >> 31) ? ~(~uint32_t{0} >> k) : 0u);
  });
}
inline Mask eq(const IntVec& a, const IntVec& b) {
  Mask r;
  for (int i = 0; i < IntVec::kWidth; ++i) r.m[i] = a.v[i] == b.v[i];
  return r;
}
inline Mask gt(const IntVec& a, const IntVec& b) {
  Mask r;
  for (int i = 0; i < IntVec::kWidth; ++i) r.m[i] = a.v[i] > b.v[i];
  return r;
}

// Round to nearest, ties to even. NaN and values outside the int32 range
// give an unspecified value (x86: INT32_MIN; NEON: saturated).
inline IntVec convert_to_int(const Vec& a) {
  IntVec r;
  for (int i = 0; i < Vec::kWidth; ++i) {
    const float x = std::nearbyint(a.v[i]);
    r.v[i] = x >= -2147483648.0f && x < 2147483648.0f ? static_cast<int32_t>(x) : INT32_MIN;
  }
  return r;
}
// Exact below 2^24 in magnitude, rounded to nearest even above.
inline Vec convert_to_float(const IntVec& a) {
  Vec r;
  for (int i = 0; i < Vec::kWidth; ++i) r.v[i] = static_cast<float>(a.v[i]);
  return r;
}
inline IntVec bitcast_to_int(const Vec& a) {
  IntVec r;
  std::memcpy(r.v, a.v, sizeof r.v);
  return r;
}
inline Vec bitcast_to_float(const IntVec& a) {
  Vec r;
  std::memcpy(r.v, a.v, sizeof r.v);
  return r;
}

}  // namespace scalar
}  // namespace vec
}  // namespace instnorm
