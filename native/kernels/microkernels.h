// The per-ISA microkernels behind every operation, as a table of function
// pointers. Each ISA's translation unit fills one table from the same
// template source (microkernels_impl.h); the dispatcher picks a table once.
//
// A microkernel works on one contiguous run of floats (a plane, or a chunk
// of one) and knows nothing of shapes, N-API or threads. Everything that is
// not a streaming loop (merging statistics, eps, affine folding) happens in
// double precision in the ops layer, outside the ISA code.
#pragma once
#include <cstdint>

namespace instnorm {
namespace kernels {

// Count, mean and sum of squared deviations (M2) of a run of floats.
struct Moments {
  double count;
  double mean;
  double m2;
};

// Joint statistics of (x, dy) over a run, for the instance-norm backward:
// count, both means, M2 of x and the co-moment sum((x - mean_x)(dy - mean_dy)).
// Kept as centered moments (not raw sums) for the same reason as Moments:
// sum(dy * x) cancels catastrophically when dy or x has a large mean.
struct CoMoments {
  double count;
  double mean_x;
  double mean_dy;
  double m2_x;
  double c_x_dy;
};

struct KernelTable {
  const char* isa;  // "scalar", "avx2", "avx512", "neon"
  int vector_width; // fp32 lanes per register

  // Statistics of x[0..n). n >= 1.
  Moments (*moments)(const float* x, int64_t n);

  // y[i] = (x[i] - sub) * scale + shift for i in [0, n). y may equal x.
  // `stream`: write y with non-temporal stores (for outputs too large to
  // stay in cache anyway).
  void (*affine)(const float* x, float* y, int64_t n, float sub, float scale,
                 float shift, bool stream);

  // Joint statistics of x[0..n) and dy[0..n). n >= 1.
  CoMoments (*co_moments)(const float* dy, const float* x, int64_t n);

  // dx[i] = a * (dy[i] - dy_sub) + b * (x[i] - x_sub) + c. dx may equal dy
  // or x. Centering dy before scaling keeps dx accurate when dy is nearly
  // constant over the plane (dx is then a small difference of large terms).
  void (*backward_apply)(const float* dy, const float* x, float* dx, int64_t n,
                         float dy_sub, float x_sub, float a, float b, float c,
                         bool stream);
};

// One table per ISA compiled into this build (see dispatch.h for which).
const KernelTable& scalar_table();
#if defined(INSTNORM_HAVE_AVX2)
const KernelTable& avx2_table();
#endif
#if defined(INSTNORM_HAVE_AVX512)
const KernelTable& avx512_table();
#endif
#if defined(INSTNORM_HAVE_NEON)
const KernelTable& neon_table();
#endif

}  // namespace kernels
}  // namespace instnorm
