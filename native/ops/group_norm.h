// Group normalization over [N, G, cpg, M] (C = G*cpg channels, M = product
// of the spatial dims), forward and backward, on caller-owned memory.
// Instance norm is the case G = C (cpg = 1). Two generalizations ride
// along because they cost nothing in the loops:
// - per-sample affine: gamma/beta of length N*C (conditional IN, FiLM,
//   AdaIN's style scale and shift);
// - `blend`: y = gamma * xhat + beta + blend * x (AdaIN's alpha mixing).
// Pure C++: the binding unwraps JS values into these arguments; shapes and
// lengths were validated by the facade and re-checked by the binding.
#pragma once
#include <cstdint>

#include "../kernels/microkernels.h"

namespace instnorm {
namespace ops {

struct GroupNormForward {
  const float* x;      // N*C*M
  float* y;            // N*C*M, may equal x
  int64_t n, g, cpg, m;
  const float* gamma;  // C (or N*C if per_sample) or nullptr (= 1)
  const float* beta;   // C (or N*C if per_sample) or nullptr (= 0)
  bool per_sample;
  double blend;
  double eps;
  float* mean;         // N*G or nullptr
  float* rstd;         // N*G or nullptr
  int threads;         // >= 1
};

struct GroupNormBackward {
  const float* dy;     // N*C*M
  const float* x;      // N*C*M
  float* dx;           // N*C*M, may equal dy or x
  float* dgamma;       // C (or N*C if per_sample)
  float* dbeta;        // C (or N*C if per_sample)
  int64_t n, g, cpg, m;
  const float* gamma;  // C (or N*C) or nullptr (= 1)
  bool per_sample;
  double blend;
  const float* mean;   // N*G or nullptr (then recomputed from x with eps)
  const float* rstd;   // N*G or nullptr
  double eps;
  int threads;         // >= 1
};

// Results are bit-identical for every thread count: statistics are always
// the in-order merge of fixed chunks (stats.h), whichever threads computed
// them.
void group_norm_forward(const kernels::KernelTable& k, const GroupNormForward& a);
void group_norm_backward(const kernels::KernelTable& k, const GroupNormBackward& a);

}  // namespace ops
}  // namespace instnorm
