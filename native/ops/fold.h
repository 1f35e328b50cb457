// Double-precision arithmetic between an op's statistics pass and its
// apply pass: how a group's moments become per-unit coefficients of the
// apply kernels, forward and backward. Every op (group/instance norm in
// both layouts, batch norm, AdaIN) folds through these, so they agree to
// the last bit on the same statistics.
#pragma once
#include <cmath>
#include <cstdint>

#include "../kernels/microkernels.h"
#include "stats.h"

namespace instnorm {
namespace ops {

// 1/sqrt(var + eps). A constant run with eps == 0 has no defined xhat; it
// gets rstd = +inf and xhat is taken as 0 (output beta, zero gradient).
inline double rstd_of(double m2, double count, double eps) {
  return 1.0 / std::sqrt(m2 / count + eps);
}

// A double mean split as hi + lo: x - hi is exact for x near the mean, and
// lo is folded into a constant term, so an offset of 1e4 does not cost the
// half-ulp (~5e-4) that a single fp32 mean would.
struct SplitMean {
  float hi;
  double lo;
};
inline SplitMean split(double mean) {
  const float hi = static_cast<float>(mean);
  return {hi, mean - static_cast<double>(hi)};
}

// How a group is normalized: xhat = (x - hi - lo) * rstd.
struct Normalizer {
  SplitMean mean;
  double mean_d, rstd;
  bool constant;  // m2 == 0: xhat is exactly 0, for every eps
};
inline Normalizer normalizer(const kernels::Moments& mo, double eps) {
  return {split(mo.mean), mo.mean, rstd_of(mo.m2, mo.count, eps), mo.m2 == 0.0};
}
// With a given rstd (batch norm's running statistics, saved statistics).
inline Normalizer normalizer(double mean, double rstd, bool constant) {
  return {split(mean), mean, rstd, constant};
}

// Per-unit coefficients of the forward apply, y = (x - sub) * scale + shift,
// as arrays indexed by unit (structure of arrays: the channels-last kernels
// take each one as a row of C values).
struct AffineCoef {
  float* sub;
  float* scale;
  float* shift;
};

// Unit u's coefficients for y = g*xhat + b + blend*x.
inline void fold_affine(const Normalizer& s, double g, double b, double blend, AffineCoef co, int64_t u) {
  co.sub[u] = s.mean.hi;
  if (s.constant) {
    // xhat = 0 (also for eps = 0, where rstd is infinite, and eps so small
    // that g*rstd would overflow a float): y = b + blend*x.
    co.scale[u] = static_cast<float>(blend);
    co.shift[u] = static_cast<float>(b + blend * static_cast<double>(s.mean.hi));
    return;
  }
  // y = S (x - mean) + b + blend*mean, S = g*rstd + blend; x - mean = (x - hi) - lo.
  const double scale = g * s.rstd + blend;
  co.scale[u] = static_cast<float>(scale);
  co.shift[u] = static_cast<float>(b + blend * s.mean_d - s.mean.lo * scale);
}

// Per-unit coefficients of the backward apply,
// dx = a (dy - dy_sub) + b (x - x_sub) + c.
struct GradCoef {
  float* dy_sub;
  float* x_sub;
  float* a;
  float* b;
  float* c;
};

// The group's moments of x, merged from its units' joint statistics.
kernels::Moments group_x_moments(const kernels::CoMoments* cm, int64_t cpg);

// The gradient coefficients of a group of `cpg` units from their joint
// statistics cm[0..cpg) and gammas g[0..cpg), written at units
// u0..u0+cpg of `out`, with each unit's share of dgamma and dbeta. With
// xhat = (x - mu) r and dxhat = g dy:
//   dx = r (dxhat - mean(dxhat) - xhat mean(dxhat xhat)) + blend dy
//      = (r g_j + blend) dy - r P - r^2 Q (x - mu),
//   P = mean over the group of g dy,  Q = mean over the group of g dy (x - mu) r.
// Per unit, sum((x - mu) dy) comes from the unit's centred co-moment plus
// a correction for its mean's offset from the group mean, so nothing here
// cancels catastrophically. `saved_rstd` < 0 means: recompute with eps.
void group_grads(const kernels::CoMoments* cm, const double* g, int64_t cpg, double saved_rstd,
                 double eps, double blend, GradCoef out, int64_t u0, double* dgamma, double* dbeta);

// The bodies of group_x_moments() and group_grads(), inline for callers
// that know cpg at compile time (channels-last instance norm: 1), where the
// compiler drops the loops and merges around one unit; the arithmetic, and
// so every bit of the results, is the same.
inline kernels::Moments group_x_moments_inline(const kernels::CoMoments* cm, int64_t cpg) {
  using kernels::Moments;
  Moments gm{0.0, 0.0, 0.0};
  for (int64_t j = 0; j < cpg; ++j) gm = merge_moments(gm, {cm[j].count, cm[j].mean_x, cm[j].m2_x});
  return gm;
}

inline void group_grads_inline(const kernels::CoMoments* cm, const double* g, int64_t cpg,
                               double saved_rstd, double eps, double blend, GradCoef out, int64_t u0,
                               double* dgamma, double* dbeta) {
  const kernels::Moments gm = group_x_moments_inline(cm, cpg);
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
