// Statistics accumulated in double throughout (the f64 kernels, then Chan
// merges in double): moments() is read-only and memory-bound, so float64
// accuracy costs about what reading the tensor costs.
#include "moments.h"

#include "scratch.h"
#include "stats.h"
#include "units.h"

namespace instnorm {
namespace ops {

using kernels::Moments;

void moments(const Context& ctx, const MomentsOp& a) {
  const int64_t C = a.c, G = a.groups;
  auto put = [&](int64_t i, const Moments& m) {
    a.count[i] = m.count;
    a.mean[i] = m.mean;
    a.m2[i] = m.m2;
  };
  if (a.over == kOverLayer || (a.over == kOverGroup && !a.channels_last)) {
    // Each statistic covers a contiguous run: a sample (either layout) or
    // a group of channels-first channels.
    const int64_t runs = a.over == kOverLayer ? a.n : a.n * G;
    Scratch<Moments> mo(runs);
    unit_moments_f64(ctx, Shape{runs, 1, sat_mul(a.n, C, a.s) / runs, false}, a.x, mo.data());
    for (int64_t i = 0; i < runs; ++i) put(i, mo[i]);
    return;
  }
  const Shape sh{a.n, C, a.s, a.channels_last};
  Scratch<Moments> mo(sh.units());
  unit_moments_f64(ctx, sh, a.x, mo.data());
  if (a.over == kOverInstance) {
    for (int64_t u = 0; u < sh.units(); ++u) put(u, mo[u]);
  } else if (a.over == kOverBatch) {
    for (int64_t j = 0; j < C; ++j) {
      Moments acc{0.0, 0.0, 0.0};
      for (int64_t i = 0; i < a.n; ++i) acc = merge_moments(acc, mo[i * C + j]);
      put(j, acc);
    }
  } else {  // channels-last groups: merge each group's channels in order
    const int64_t cpg = C / G;
    for (int64_t g = 0; g < a.n * G; ++g) {
      Moments acc{0.0, 0.0, 0.0};
      for (int64_t j = 0; j < cpg; ++j) acc = merge_moments(acc, mo[g * cpg + j]);
      put(g, acc);
    }
  }
}

INSTNORM_OP("moments", MomentsOp, moments);

}  // namespace ops
}  // namespace instnorm
