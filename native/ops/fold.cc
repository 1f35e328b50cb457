#include "fold.h"

#include "stats.h"

namespace instnorm {
namespace ops {

using kernels::CoMoments;
using kernels::Moments;

Moments group_x_moments(const CoMoments* cm, int64_t cpg) {
  Moments gm{0.0, 0.0, 0.0};
  for (int64_t j = 0; j < cpg; ++j) gm = merge_moments(gm, {cm[j].count, cm[j].mean_x, cm[j].m2_x});
  return gm;
}

void group_grads(const CoMoments* cm, const double* g, int64_t cpg, double saved_rstd, double eps,
                 double blend, GradCoef out, int64_t u0, double* dgamma, double* dbeta) {
  const Moments gm = group_x_moments(cm, cpg);
  const double r = saved_rstd >= 0.0 ? saved_rstd : rstd_of(gm.m2, gm.count, eps);
  const SplitMean mu = split(gm.mean);
  double p = 0.0, q = 0.0;
  for (int64_t j = 0; j < cpg; ++j) {
    const double sum_dy = cm[j].count * cm[j].mean_dy;
    const double sum_xc_dy = cm[j].c_x_dy + cm[j].count * (cm[j].mean_x - gm.mean) * cm[j].mean_dy;
    p += g[j] * cm[j].mean_dy * (cm[j].count / gm.count);
    q += g[j] * sum_xc_dy;
    dgamma[j] = r * sum_xc_dy;
    dbeta[j] = sum_dy;
  }
  const double b = -r * r * r * q / gm.count;
  const bool undefined = std::isinf(r);  // constant group, eps = 0
  for (int64_t j = 0; j < cpg; ++j) {
    const int64_t u = u0 + j;
    const float dy_sub = static_cast<float>(cm[j].mean_dy);
    out.dy_sub[u] = dy_sub;
    out.x_sub[u] = mu.hi;
    if (undefined) {
      out.a[u] = static_cast<float>(blend);
      out.b[u] = 0.0f;
      out.c[u] = static_cast<float>(blend * dy_sub);
      dgamma[j] = 0.0;
      continue;
    }
    const double a = r * g[j] + blend;
    out.a[u] = static_cast<float>(a);
    out.b[u] = static_cast<float>(b);
    // g dy_sub - P before scaling by r: exactly 0 for a one-element group.
    out.c[u] = static_cast<float>(r * (g[j] * dy_sub - p) + blend * dy_sub - b * mu.lo);
  }
}

}  // namespace ops
}  // namespace instnorm
