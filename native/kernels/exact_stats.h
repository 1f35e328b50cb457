// Statistics accumulated in double (moments()'s kernels): every element is
// widened to double before the pivot is subtracted, so deviations, squares
// and sums keep float64 precision over the whole float range (no square
// overflows, none underflows). The lanes are a fixed count of plain double
// accumulators, not the ISA's vector width: each ISA's compiler vectorizes
// the same per-lane arithmetic, so every ISA gives the same bits.
// Blocks are merged with Chan's formula in block order, as in moments().
#pragma once
#include "kernel_common.h"

namespace instnorm {
namespace kernels {
namespace {

constexpr int kExactLanes = 8;

// kExactLanes doubles: GCC/Clang vectors (lane-wise IEEE arithmetic, so
// the same bits as scalar code, in as many registers as the ISA needs), or
// plain arrays (MSVC, x86 without AVX).
#if defined(__GNUC__) && (defined(__AVX__) || !(defined(__x86_64__) || defined(__i386__)))
// Two halves of 4 (on x86 only with AVX: without it GCC gives 32-byte
// vectors another ABI, and the plain arrays below vectorize as well for SSE2).: the widening conversion of 4 floats is one instruction
// from AVX on (two on SSE2 and NEON); GCC lowers a conversion to 8 doubles
// element by element where the ISA has no 512-bit registers.
typedef float Floats4 __attribute__((vector_size(16), aligned(4)));
typedef double Doubles4 __attribute__((vector_size(32)));
struct Doubles8 {
  Doubles4 lo, hi;
  double operator[](int j) const { return j < 4 ? lo[j] : hi[j - 4]; }
};
inline Doubles4 widen4(const float* x) {
  Floats4 f;
  __builtin_memcpy(&f, x, sizeof f);
  return __builtin_convertvector(f, Doubles4);
}
inline Doubles8 widen8(const float* x) { return {widen4(x), widen4(x + 4)}; }
inline Doubles8 splat8(double v) { return {Doubles4{} + v, Doubles4{} + v}; }
inline Doubles8 operator-(Doubles8 a, Doubles8 b) { return {a.lo - b.lo, a.hi - b.hi}; }
inline Doubles8 operator*(Doubles8 a, Doubles8 b) { return {a.lo * b.lo, a.hi * b.hi}; }
inline Doubles8& operator+=(Doubles8& a, Doubles8 b) {
  a.lo += b.lo;
  a.hi += b.hi;
  return a;
}
#else
struct Doubles8 {
  double v[kExactLanes];
  double operator[](int j) const { return v[j]; }
};
inline Doubles8 widen8(const float* x) {
  Doubles8 r;
  for (int j = 0; j < kExactLanes; ++j) r.v[j] = x[j];
  return r;
}
inline Doubles8 splat8(double v) {
  Doubles8 r;
  for (int j = 0; j < kExactLanes; ++j) r.v[j] = v;
  return r;
}
inline Doubles8 operator-(Doubles8 a, Doubles8 b) {
  for (int j = 0; j < kExactLanes; ++j) a.v[j] -= b.v[j];
  return a;
}
inline Doubles8 operator*(Doubles8 a, Doubles8 b) {
  for (int j = 0; j < kExactLanes; ++j) a.v[j] *= b.v[j];
  return a;
}
inline Doubles8& operator+=(Doubles8& a, Doubles8 b) {
  for (int j = 0; j < kExactLanes; ++j) a.v[j] += b.v[j];
  return a;
}
#endif

inline double lanes_sum(const Doubles8& a) {
  return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

// sum(x - p) and sum((x - p)^2) in double over x[0..n), in two groups of
// kExactLanes lanes, then a scalar tail.
inline void block_centered_f64(const float* x, int64_t n, double p, double* sd, double* sdd) {
  const Doubles8 pv = splat8(p);
  Doubles8 a0 = splat8(0.0), q0 = a0, a1 = a0, q1 = a0;
  int64_t i = 0;
  for (; i + 2 * kExactLanes <= n; i += 2 * kExactLanes) {
    const Doubles8 d0 = widen8(x + i) - pv, d1 = widen8(x + i + kExactLanes) - pv;
    a0 += d0;
    a1 += d1;
    q0 += d0 * d0;
    q1 += d1 * d1;
  }
  if (i + kExactLanes <= n) {
    const Doubles8 d0 = widen8(x + i) - pv;
    a0 += d0;
    q0 += d0 * d0;
    i += kExactLanes;
  }
  double ta = 0.0, tq = 0.0;
  for (; i < n; ++i) {
    const double d = static_cast<double>(x[i]) - p;
    ta += d;
    tq += d * d;
  }
  *sd = (lanes_sum(a0) + lanes_sum(a1)) + ta;
  *sdd = (lanes_sum(q0) + lanes_sum(q1)) + tq;
}

// One block's (count, mean, M2) around pivot p, redone around the block's
// own mean when p was more than a standard deviation away (then the
// cancellation in M2 = sum(d^2) - sum(d)^2/n would amplify rounding).
inline Moments block_moments_f64(const float* x, int64_t n, double p) {
  const double cnt = static_cast<double>(n);
  double sd, sdd;
  block_centered_f64(x, n, p, &sd, &sdd);
  double mean = p + sd / cnt, m2 = sdd - sd * sd / cnt;
  if (!(sd * sd <= m2 * cnt)) {  // (NaN and infinities take it too)
    p = mean;
    block_centered_f64(x, n, p, &sd, &sdd);
    mean = p + sd / cnt;
    m2 = sdd - sd * sd / cnt;
  }
  return {cnt, mean, m2 < 0.0 ? 0.0 : m2};
}

Moments moments_f64(const float* x, int64_t n) {
  Moments acc{0.0, 0.0, 0.0};
  double pivot = x[0];
  for (int64_t start = 0; start < n; start += kStatBlock) {
    const Moments b = block_moments_f64(x + start, min_i64(kStatBlock, n - start), pivot);
    acc = chan_merge(acc, b);
    pivot = b.mean;
  }
  return acc;
}

// Channels-last: tiles of kExactTile columns, blocks of kColBlockF64 rows;
// per column, the previous block's mean is the pivot (the first row for the
// first block), and a column whose block needs it is redone on its own.
constexpr int64_t kExactTile = 64;
constexpr int64_t kColBlockF64 = 256;

void col_moments_f64(const float* x, int64_t rows, int64_t C, Moments* out) {
  for (int64_t c0 = 0; c0 < C; c0 += kExactTile) {
    const int64_t t = min_i64(kExactTile, C - c0);
    double piv[kExactTile], sd[kExactTile], sdd[kExactTile];
    for (int64_t j = 0; j < t; ++j) {
      piv[j] = x[c0 + j];
      out[c0 + j] = {0.0, 0.0, 0.0};
    }
    for (int64_t r0 = 0; r0 < rows; r0 += kColBlockF64) {
      const int64_t len = min_i64(kColBlockF64, rows - r0);
      const double cnt = static_cast<double>(len);
      for (int64_t j = 0; j < t; ++j) sd[j] = sdd[j] = 0.0;
      for (int64_t r = r0; r < r0 + len; ++r) {
        const float* row = x + r * C + c0;
        for (int64_t j = 0; j < t; ++j) {
          const double d = static_cast<double>(row[j]) - piv[j];
          sd[j] += d;
          sdd[j] += d * d;
        }
      }
      for (int64_t j = 0; j < t; ++j) {
        double mean = piv[j] + sd[j] / cnt, m2 = sdd[j] - sd[j] * sd[j] / cnt;
        if (!(sd[j] * sd[j] <= m2 * cnt)) {
          double s = 0.0, q = 0.0;
          for (int64_t r = r0; r < r0 + len; ++r) {
            const double d = static_cast<double>(x[r * C + c0 + j]) - mean;
            s += d;
            q += d * d;
          }
          m2 = q - s * s / cnt;
          mean += s / cnt;
        }
        out[c0 + j] = chan_merge(out[c0 + j], {cnt, mean, m2 < 0.0 ? 0.0 : m2});
        piv[j] = mean;
      }
    }
  }
}

}  // namespace
}  // namespace kernels
}  // namespace instnorm
