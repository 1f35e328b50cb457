#include "adain.h"

#include <cmath>

#include "exact.h"
#include "fold.h"
#include "group_norm.h"
#include "scratch.h"
#include "units.h"

namespace instnorm {
namespace ops {

using kernels::Moments;

const char* AdaINFields::check() const {
  if (style_n != 1 && style_n != n) return "styleN must be 1 (broadcast) or n";
  if (!(eps >= 0.0)) return "eps must be a finite number >= 0";
  if (!(alpha >= 0.0 && alpha <= 1.0)) return "alpha must be in [0, 1]";
  if (unbiased && (s < 2 || style_s < 2)) return "unbiased variances need at least 2 elements per plane";
  return nullptr;
}

namespace {

// The style's statistics and the per-sample affine they give the content:
// gamma = alpha * k * sigma_s, beta = alpha * mu_s, where k and the content
// eps turn instance norm's biased normalization into the unbiased one when
// asked: sqrt(m2/(M-1) + eps) = sqrt(M/(M-1)) sqrt(m2/M + eps (M-1)/M).
// Style unit u's run (one unit of [styleN, C, styleS] in either layout).
struct StyleRun {
  int64_t base;
  Runs runs;
  StyleRun(const AdaINFields& a, int64_t u) : base(0), runs{&base, 1, a.channels_last ? a.c : 1, a.style_s} {
    const int64_t n = u / a.c, c = u % a.c;
    base = a.channels_last ? n * a.style_s * a.c + c : u * a.style_s;
    runs.bases = &base;
  }
  StyleRun(const StyleRun&) = delete;
};

struct StyleAffine {
  Scratch<double> stat;    // mean, then sigma, per style unit
  Scratch<double> affine;  // gamma, then beta, per content unit
  double div, k, content_eps;
  double* mean() const { return stat.data(); }
  double* sigma(int64_t units) const { return stat.data() + units; }
  double* gamma() const { return affine.data(); }
  double* beta(int64_t units) const { return affine.data() + units; }

  StyleAffine(const Context& ctx, const AdaINFields& a, const float* style)
      : stat(2 * a.style_n * a.c), affine(2 * a.n * a.c) {
    const int64_t su = a.style_n * a.c, cu = a.n * a.c;
    Scratch<Moments> mo(su);
    unit_moments(ctx, Shape{a.style_n, a.c, a.style_s, a.channels_last}, style, mo.data());
    div = a.unbiased ? static_cast<double>(a.style_s - 1) : static_cast<double>(a.style_s);
    const double m = static_cast<double>(a.s);
    k = a.unbiased ? std::sqrt((m - 1.0) / m) : 1.0;
    content_eps = a.unbiased ? a.eps * ((m - 1.0) / m) : a.eps;  // (no overflow at eps near the float64 max)
    for (int64_t u = 0; u < su; ++u) {
      // Outside the float32 kernels' range: the statistics again, exactly.
      const bool exact =
          needs_exact(mo[u].m2, mo[u].count, mo[u].mean, [&] { return all_zero(style, StyleRun(a, u).runs); });
      const Moments m2 = exact ? exact_moments(style, StyleRun(a, u).runs) : mo[u];
      mean()[u] = m2.mean;
      sigma(su)[u] = std::sqrt(m2.m2 / div + a.eps);
    }
    for (int64_t u = 0; u < cu; ++u) {
      const int64_t s = a.style_n == 1 ? u % a.c : u;
      gamma()[u] = a.alpha * k * sigma(su)[s];
      beta(cu)[u] = a.alpha * mean()[s];
    }
  }
};

// The content's instance norm: groups = C, the style's per-sample affine,
// alpha as the blend.
GroupShape content_shape(const AdaINFields& a, const StyleAffine& sa) {
  return {a.n, a.c, a.s, a.c, a.channels_last, kPerSample, a.n, 1.0 - a.alpha, sa.content_eps};
}

}  // namespace

void adain_forward(const Context& ctx, const AdaINForward& a) {
  const StyleAffine sa(ctx, a, a.style);
  GroupNormForward g{};
  static_cast<GroupShape&>(g) = content_shape(a, sa);
  g.x = a.content;
  g.y = a.y;
  g.gamma64 = sa.gamma();
  g.beta64 = sa.beta(a.n * a.c);
  group_norm_forward(ctx, g);
}

void adain_backward(const Context& ctx, const AdaINBackward& a) {
  const StyleAffine sa(ctx, a, a.style);
  const int64_t cu = a.n * a.c, su = a.style_n * a.c;
  Scratch<float> grads(2 * cu);  // per-sample dgamma, dbeta of the content's affine
  GroupNormBackward g{};
  static_cast<GroupShape&>(g) = content_shape(a, sa);
  g.dy = a.dy;
  g.x = a.content;
  g.dx = a.dcontent;
  g.dgamma = grads.data();
  g.dbeta = grads.data() + cu;
  g.gamma64 = sa.gamma();
  group_norm_backward(ctx, g);
  // y depends on the style through sigma_s (coefficient alpha * k * xhat)
  // and mu_s (coefficient alpha); a broadcast style collects every
  // sample's share, in sample order.
  Scratch<double> d(2 * su);
  double* dsigma = d.data();
  double* dmu = dsigma + su;
  for (int64_t u = 0; u < 2 * su; ++u) d[u] = 0.0;
  for (int64_t u = 0; u < cu; ++u) {
    const int64_t s = a.style_n == 1 ? u % a.c : u;
    dsigma[s] += a.alpha * sa.k * g.dgamma[u];
    dmu[s] += a.alpha * g.dbeta[u];
  }
  // d sigma / d s_i = (s_i - mu_s) / (div * sigma);  d mu / d s_i = 1 / count:
  // dstyle = (s - mu) * scale + shift per style unit, the mean split as hi + lo.
  // A unit whose scale leaves the float range is computed in double
  // (dstyle cannot alias style, so no copy is needed).
  Scratch<float> mem(3 * su);
  Scratch<bool> exact(su);
  const AffineCoef co{mem.data(), mem.data() + su, mem.data() + 2 * su};
  for (int64_t u = 0; u < su; ++u) {
    const double scale = dsigma[u] / (sa.div * sa.sigma(su)[u]);
    const double shift = dmu[u] / static_cast<double>(a.style_s);
    exact[u] = scale != 0.0 && (std::fabs(scale) < 0x1p-100 || std::fabs(scale) > 0x1p100);
    const SplitMean m = split(sa.mean()[u]);
    co.sub[u] = m.hi;
    co.scale[u] = exact[u] ? 0.0f : static_cast<float>(scale);
    co.shift[u] = exact[u] ? 0.0f : static_cast<float>(shift - m.lo * scale);
  }
  unit_affine(ctx, Shape{a.style_n, a.c, a.style_s, a.channels_last}, a.style, a.dstyle, co);
  for (int64_t u = 0; u < su; ++u) {
    if (!exact[u]) continue;
    const StyleRun r(a, u);
    const double scale = dsigma[u] / (sa.div * sa.sigma(su)[u]), shift = dmu[u] / static_cast<double>(a.style_s);
    exact_forward(a.style, a.dstyle, r.runs, sa.mean()[u], scale, false, [](int64_t) { return 1.0; },
                  [&](int64_t) { return shift; }, 0.0);
  }
}

INSTNORM_OP("adaIN", AdaINForward, adain_forward);
INSTNORM_OP("adaINBackward", AdaINBackward, adain_backward);

}  // namespace ops
}  // namespace instnorm
