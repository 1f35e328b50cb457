// The data of the plane-batch kernel tests (plane_batch_tests.h): planes
// of every length with their double-precision references, the special
// planes, and outputs filled with sentinels that end at guard pages.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "../kernels/microkernels.h"
#include "harness.h"

namespace instnorm {
namespace test {
namespace {


using kernels::KernelTable;

constexpr int64_t kBatchPlanes = 40;
constexpr float kSentinel = -777.25f;
constexpr unsigned char kFlagSentinel = 0xEE;
constexpr float kEps = 1e-5f;

// Special planes (by index; len >= 2: with one element every plane is
// constant). Flagged: NaN, +inf, |deviations| ~1e-20 (variance below
// 2^-112), ~1e20 (squares overflow), a constant of 1e-20 (M2 = 0 with a
// tiny mean: exact.h sends it to the exact path). Not flagged: a constant
// plane and an all-zero one (xhat = 0 on the fp32 path), an outlier first
// element, the first 16 elements of x (kFirstX) or dy (kFirstDy) far from
// the rest (the first-vector pivot is off: the plane is summed again),
// deviations ~1e-15 and ~1e15 (inside the range, near its edges), NaN in
// dy only (backward: dx NaN). With saved
// statistics, planes kRstdHigh and kRstdLow get an rstd outside
// [2^-56, 2^56] (flagged).
enum : int64_t {
  kRstdHigh = 3,
  kConstant = 5,
  kNaN = 7,
  kRstdLow = 9,
  kTiny = 11,
  kHuge = 13,
  kInf = 17,
  kSpike = 19,
  kFirstX = 23,
  kFirstDy = 25,
  kZero = 33,
  kTinyConstant = 35,
  kEdgeSmall = 29,
  kEdgeLarge = 31,
  kDyNaN = 37
};

std::vector<int64_t> batch_lengths() {
  std::vector<int64_t> lens;
  for (int64_t n = 1; n <= 70; ++n) lens.push_back(n);
  for (int64_t n : {127, 128, 129, 255, 256, 257, 1023, 1024, 1025, 2049, 5000}) lens.push_back(n);
  return lens;
}

// kBatchPlanes planes of len, their coefficients, and per-plane double
// references of x and dy.
struct BatchCase {
  int64_t len;
  std::vector<float> x, dy, g, b;
  std::vector<double> mx, m2, mdy, m2dy, cxy, sdy, sabs_dy;
  std::vector<char> offset_data;  // 1e4 + noise of deviation <= 1 (the offset bar)

  explicit BatchCase(int64_t n) : len(n), x(kBatchPlanes * n), dy(kBatchPlanes * n), g(kBatchPlanes), b(kBatchPlanes) {
    std::mt19937 rng(static_cast<uint32_t>(n * 31 + 7));
    std::normal_distribution<float> normal(0.0f, 1.0f);
    const float scales[4] = {1.0f, 1e-2f, 50.0f, 1.0f};
    for (int64_t k = 0; k < kBatchPlanes; ++k) {
      float* xp = x.data() + k * n;
      float* gp = dy.data() + k * n;
      const double offset = k % 3 == 1 ? 1e4 : k % 3 == 2 ? -3.0 : 0.0;
      double scale = scales[k % 4];
      if (k == kTiny) scale = 1e-20;
      if (k == kHuge) scale = 1e20;
      if (k == kEdgeSmall) scale = 1e-15;
      if (k == kEdgeLarge) scale = 1e15;
      const bool zero_offset = k == kTiny || k == kHuge || k == kEdgeSmall || k == kEdgeLarge;
      offset_data.push_back(offset == 1e4 && scale <= 1.0 && !zero_offset && k != kSpike);
      for (int64_t i = 0; i < n; ++i) {
        xp[i] = static_cast<float>((zero_offset ? 0.0 : offset) + scale * normal(rng));
        gp[i] = k % 5 == 3 ? 5.0f + 1e-3f * normal(rng) : normal(rng) * (k % 2 ? 2.0f : 0.5f) + 0.1f * (k % 7);
      }
      if (n >= 2) {
        if (k == kConstant) std::fill(xp, xp + n, 2.5f);
        if (k == kZero) std::fill(xp, xp + n, k % 2 ? -0.0f : 0.0f);
        if (k == kTinyConstant) std::fill(xp, xp + n, 1e-20f);
        if (k == kNaN) xp[n / 2] = std::nanf("");
        if (k == kInf) xp[0] = INFINITY;
        if (k == kSpike) xp[0] = 1e6f;
        if (k == kDyNaN) gp[n - 1] = std::nanf("");
      }
      for (int64_t i = 0; i < n && i < 16 && n >= 32; ++i) {
        if (k == kFirstX) xp[i] += 100.0f * scale;
        if (k == kFirstDy) gp[i] += 50.0f;
      }
      g[k] = 1.0f + 0.5f * normal(rng);
      b[k] = 0.3f * normal(rng);
      double sx = 0, sg = 0, sa = 0;
      for (int64_t i = 0; i < n; ++i) {
        sx += xp[i];
        sg += gp[i];
        sa += std::fabs(gp[i]);
      }
      const double mean = sx / n, mean_dy = sg / n;
      double q = 0, qg = 0, c = 0;
      for (int64_t i = 0; i < n; ++i) {
        q += (xp[i] - mean) * (xp[i] - mean);
        qg += (gp[i] - mean_dy) * (gp[i] - mean_dy);
        c += (xp[i] - mean) * (gp[i] - mean_dy);
      }
      mx.push_back(mean);
      m2.push_back(q);
      mdy.push_back(mean_dy);
      m2dy.push_back(qg);
      cxy.push_back(c);
      sdy.push_back(sg);
      sabs_dy.push_back(sa);
    }
  }
  const float* xs(int64_t k) const { return x.data() + k * len; }
  const float* dys(int64_t k) const { return dy.data() + k * len; }
  // exact.h's needs_exact on the double statistics: M2 = 0 stays on the
  // fp32 path for a mean of at least 2^-48 or an all-zero plane.
  bool needs_exact(int64_t k) const {
    if (m2[k] == 0.0) {
      bool zero = true;
      for (int64_t i = 0; i < len; ++i) zero = zero && xs(k)[i] == 0.0f;
      return !(std::fabs(mx[k]) >= 0x1p-48 || zero);
    }
    if (!(m2[k] > 0.0) || !std::isfinite(m2[k])) return true;
    const double var = m2[k] / len;
    return var < 0x1p-112 || var > 0x1p112;
  }
  double rstd(int64_t k, float eps = kEps) const { return 1.0 / std::sqrt(m2[k] / len + static_cast<double>(eps)); }
};

// n floats (or 2n for doubles) filled with the sentinel, ending at a
// guard page; flags as bytes ending there too.
struct Out {
  Guarded f;
  explicit Out(int64_t n) : f(n) { std::fill(f.data(), f.data() + n, kSentinel); }
  float* p() { return f.data(); }
};
struct DoubleOut {
  Guarded f;
  int64_t n;
  explicit DoubleOut(int64_t count) : f(2 * count), n(count) { std::fill(p(), p() + n, static_cast<double>(kSentinel)); }
  double* p() { return reinterpret_cast<double*>(f.data()); }
};
struct FlagOut {
  Guarded f;
  int64_t n;
  explicit FlagOut(int64_t count) : f((count + 3) / 4), n(count) { std::memset(p(), kFlagSentinel, n); }
  uint8_t* p() { return reinterpret_cast<uint8_t*>(f.data() + (n + 3) / 4) - n; }
};

// The same bits, or both NaN (NaN sign and payload are not specified: the
// AVX-512 emulation gives another NaN sign at another batch position).
template <class T>
bool same_bits(const T* a, const T* b, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    if (std::memcmp(a + i, b + i, sizeof(T)) != 0 && !(std::isnan(a[i]) && std::isnan(b[i]))) return false;
  }
  return true;
}
bool all_sentinel(const float* a, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    if (a[i] != kSentinel) return false;
  }
  return true;
}

}  // namespace
}  // namespace test
}  // namespace instnorm
