// Primitives over P contiguous runs of L floats, for operations whose
// statistics must be combined across runs before anything is written
// (batch norm over the batch, AdaIN's style, moments()): statistics out in
// double, per-run coefficients in. The facade (lib/ops/) does the
// combining and the coefficient arithmetic, in double.
#pragma once
#include <cstdint>

#include "../kernels/microkernels.h"

namespace instnorm {
namespace ops {

struct PlaneStatsArgs {
  const float* dy;  // only for co-moments
  const float* x;
  int64_t runs, len;
  double* mean_x;
  double* m2_x;
  double* mean_dy;  // only for co-moments
  double* c_x_dy;   // only for co-moments
  int threads;
};

struct PlaneApplyArgs {
  const float* dy;  // only for backward_apply
  const float* x;
  float* out;       // may equal x (or dy)
  int64_t runs, len;
  // affine: sub, scale, shift. backward_apply: dy_sub, x_sub, a, b, c.
  const float* coef[5];
  int threads;
};

void plane_moments(const kernels::KernelTable& k, const PlaneStatsArgs& a);
void plane_co_moments(const kernels::KernelTable& k, const PlaneStatsArgs& a);
void plane_affine(const kernels::KernelTable& k, const PlaneApplyArgs& a);
void plane_backward_apply(const kernels::KernelTable& k, const PlaneApplyArgs& a);

// The same over channels-last data [N, S, C]: run (n, c) is the strided
// column c of sample n; results and coefficients at index n*C + c. Here
// `runs` is N, `len` is S, and `channels` is C.
void channels_last_moments(const kernels::KernelTable& k, const PlaneStatsArgs& a, int64_t channels);
void channels_last_co_moments(const kernels::KernelTable& k, const PlaneStatsArgs& a, int64_t channels);
void channels_last_affine(const kernels::KernelTable& k, const PlaneApplyArgs& a, int64_t channels);
void channels_last_backward_apply(const kernels::KernelTable& k, const PlaneApplyArgs& a, int64_t channels);

}  // namespace ops
}  // namespace instnorm
