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
  kernels::Moments acc{0.0, 0.0, 0.0};
  for (int64_t s = 0; s < m; s += kChunk) {
    const int64_t len = m - s < kChunk ? m - s : kChunk;
    acc = merge_moments(acc, k.moments(x + s, len));
  }
  return acc;
}

inline kernels::BackwardSums plane_backward_sums(const kernels::KernelTable& k,
                                                 const float* dy,
                                                 const float* x, int64_t m,
                                                 float sub) {
  kernels::BackwardSums acc{0.0, 0.0, 0.0};
  for (int64_t s = 0; s < m; s += kChunk) {
    const int64_t len = m - s < kChunk ? m - s : kChunk;
    const kernels::BackwardSums p = k.backward_sums(dy + s, x + s, len, sub);
    acc.sum_d += p.sum_d;
    acc.sum_dy += p.sum_dy;
    acc.sum_dy_d += p.sum_dy_d;
  }
  return acc;
}

}  // namespace ops
}  // namespace instnorm
