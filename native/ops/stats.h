// Plane statistics in double precision, built from the microkernels.
// A plane is cut into fixed chunks whose partial results are combined in
// index order. The chunking does not depend on how many threads take part,
// which is what lets a parallel run give bit-identical results.
#pragma once
#include <cstdint>

#include "../kernels/microkernels.h"

namespace instnorm {
namespace ops {

constexpr int64_t kChunk = int64_t{1} << 16;

// Chan et al.'s parallel combination of two (count, mean, M2) triples.
inline kernels::Moments merge_moments(const kernels::Moments& a,
                                      const kernels::Moments& b) {
  if (a.count == 0.0) return b;
  if (b.count == 0.0) return a;
  const double n = a.count + b.count;
  const double delta = b.mean - a.mean;
  return {n, a.mean + delta * (b.count / n),
          a.m2 + b.m2 + delta * delta * (a.count * b.count / n)};
}

inline kernels::Moments plane_moments(const kernels::KernelTable& k,
                                      const float* x, int64_t m) {
  if (m <= kChunk) return k.moments(x, m);  // = merge_moments({0}, chunk)
  kernels::Moments acc{0.0, 0.0, 0.0};
  for (int64_t s = 0; s < m; s += kChunk) {
    const int64_t len = m - s < kChunk ? m - s : kChunk;
    acc = merge_moments(acc, k.moments(x + s, len));
  }
  return acc;
}

inline kernels::CoMoments merge_co_moments(const kernels::CoMoments& a,
                                           const kernels::CoMoments& b) {
  if (a.count == 0.0) return b;
  if (b.count == 0.0) return a;
  const double n = a.count + b.count;
  const double dx = b.mean_x - a.mean_x, dg = b.mean_dy - a.mean_dy;
  const double w = a.count * b.count / n;
  return {n, a.mean_x + dx * (b.count / n), a.mean_dy + dg * (b.count / n),
          a.m2_x + b.m2_x + dx * dx * w, a.c_x_dy + b.c_x_dy + dx * dg * w};
}

inline kernels::CoMoments plane_co_moments(const kernels::KernelTable& k,
                                           const float* dy, const float* x,
                                           int64_t m) {
  if (m <= kChunk) return k.co_moments(dy, x, m);  // = merge_co_moments({0}, chunk)
  kernels::CoMoments acc{0.0, 0.0, 0.0, 0.0, 0.0};
  for (int64_t s = 0; s < m; s += kChunk) {
    const int64_t len = m - s < kChunk ? m - s : kChunk;
    acc = merge_co_moments(acc, k.co_moments(dy + s, x + s, len));
  }
  return acc;
}

}  // namespace ops
}  // namespace instnorm
