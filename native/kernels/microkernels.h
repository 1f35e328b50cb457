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

// Row sums for the layer-norm backward.
struct RowSums {
  double g_dy;       // sum(g * dy)
  double g_dy_xhat;  // sum(g * dy * xhat)
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

  // --- Channels-last (a rows x C block, row stride C; column c is channel c) ---
  // Vectorized across columns; row-blocking for accuracy happens inside, as
  // in moments(). rows >= 1, C >= 1; out has C entries.
  void (*col_moments)(const float* x, int64_t rows, int64_t C, Moments* out);
  void (*col_co_moments)(const float* dy, const float* x, int64_t rows,
                         int64_t C, CoMoments* out);
  // y[r*C + c] = (x[r*C + c] - sub[c]) * scale[c] + shift[c]. y may equal x.
  void (*col_affine)(const float* x, float* y, int64_t rows, int64_t C,
                     const float* sub, const float* scale, const float* shift,
                     bool stream);
  // dx[r*C + c] = a[c] (dy - dy_sub[c]) + b[c] (x - x_sub[c]) + c_[c].
  // dx may equal dy or x.
  void (*col_backward_apply)(const float* dy, const float* x, float* dx,
                             int64_t rows, int64_t C, const float* dy_sub,
                             const float* x_sub, const float* a,
                             const float* b, const float* c, bool stream);

  // --- Layer norm rows (elementwise affine over the normalized run) ---
  // xhat[i] = (x[i] - sub) * scale + shift;  y[i] = xhat[i] * g[i] + b[i].
  // g and b are never null (the ops layer passes ones / zeros). y may equal x.
  void (*affine_elementwise)(const float* x, float* y, int64_t n, float sub,
                             float scale, float shift, const float* g,
                             const float* b, bool stream);
  // With xhat as above: returns {sum(g*dy), sum(g*dy*xhat)} (double
  // accumulation per block) and adds dy*xhat to dg_acc[i] and dy to
  // db_acc[i] (fp32 accumulators, one row's contribution per call).
  RowSums (*row_backward_reduce)(const float* dy, const float* x,
                                 const float* g, int64_t n, float sub,
                                 float scale, float shift, float* dg_acc,
                                 float* db_acc);
  // dx[i] = k1 * g[i] * dy[i] + k2 + k3 * xhat[i]. dx may equal dy or x.
  void (*row_backward_apply)(const float* dy, const float* x, const float* g,
                             float* dx, int64_t n, float sub, float scale,
                             float shift, float k1, float k2, float k3,
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
