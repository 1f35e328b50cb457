// The kernel layer's public header: the per-ISA microkernels behind every
// operation, as a table of function pointers. The members come from the
// manifest (microkernels.def), one table per ISA of isas.def; each ISA's
// translation unit (kernel_table.cc) fills its table from the same source,
// and the dispatcher (dispatch.h) picks one.
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
  const char* isa;   // a name of isas.def: "scalar", "avx2", "avx512", "neon"
  int vector_width;  // fp32 lanes per vector

  // One member per kernel of the manifest, e.g.
  //   Moments (*moments)(const float* x, int64_t n);
  // (see microkernels.def for each one's contract).
#define INSTNORM_KERNEL(family, name, ret, params) ret(*name) params;
#include "microkernels.def"
};

// One table per ISA; a build defines those of its architecture (isas.def),
// and only the dispatcher should call them (it checks the CPU first).
#define INSTNORM_ISA(name, arch, features, gcc_flags, msvc_flags) const KernelTable& name##_table();
#include "isas.def"

}  // namespace kernels
}  // namespace instnorm
