// Batch norm is a statistics pass over the whole batch, a fold per channel,
// then one apply pass: no output can be written before every sample has
// been read. Per-unit statistics come from units.h and are merged per
// channel over the samples in order, so results do not depend on threads.
#include "batch_norm.h"

#include <cmath>

#include "exact.h"
#include "fold.h"
#include "scratch.h"
#include "stats.h"
#include "units.h"

namespace instnorm {
namespace ops {

using kernels::CoMoments;
using kernels::Moments;

const char* BatchNormForward::check() const {
  if (!(eps >= 0.0)) return "eps must be a finite number >= 0";
  if (!(momentum >= 0.0 && momentum <= 1.0)) return "momentum must be in [0, 1]";
  if ((running_mean == nullptr) != (running_var == nullptr)) return "runningMean and runningVar go together";
  if (!training && !have_stats && !running_mean) return "inference needs runningMean and runningVar (or stats)";
  const double count = have_stats ? stats_count : static_cast<double>(n) * static_cast<double>(s);
  if (have_stats && !(stats_count >= 1.0)) return "statsCount must be >= 1";
  if (training && running_mean && unbiased_running && count < 2.0) {
    return "training needs more than 1 value per channel to update the running variance";
  }
  return nullptr;
}

const char* BatchNormBackward::check() const {
  if (!(eps >= 0.0)) return "eps must be a finite number >= 0";
  return nullptr;
}

namespace {

// Coefficient arrays for every unit, from per-channel values (the same
// for every sample).
struct UnitCoef {
  Scratch<float> mem;
  int64_t units;
  explicit UnitCoef(int64_t u, int parts) : mem(parts * u), units(u) {}
  float* part(int i) const { return mem.data() + i * units; }
  void broadcast(int parts, int64_t n, int64_t c) const {
    for (int i = 0; i < parts; ++i) {
      for (int64_t s = 1; s < n; ++s) {
        for (int64_t j = 0; j < c; ++j) part(i)[s * c + j] = part(i)[j];
      }
    }
  }
};

}  // namespace

namespace {

// Channel c's runs: its unit in every sample.
struct ChannelRuns {
  Scratch<int64_t> bases;
  Runs runs;
  ChannelRuns(const BatchShape& a, int64_t c) : bases(a.n), runs{nullptr, a.n, a.channels_last ? a.c : 1, a.s} {
    for (int64_t i = 0; i < a.n; ++i) bases[i] = a.channels_last ? i * a.s * a.c + c : (i * a.c + c) * a.s;
    runs.bases = bases.data();
  }
};

}  // namespace

void batch_norm_forward(const Context& ctx, const BatchNormForward& a) {
  const int64_t C = a.c;
  const Shape sh{a.n, C, a.s, a.channels_last};
  Scratch<double> stat(2 * C);  // mean, then biased variance
  double* mean = stat.data();
  double* var = mean + C;
  bool own = false;
  double count = static_cast<double>(a.n) * static_cast<double>(a.s);
  if (a.have_stats) {
    for (int64_t j = 0; j < C; ++j) {
      mean[j] = a.stats_mean[j];
      var[j] = a.stats_var[j];
    }
    count = a.stats_count;
  } else if (a.training) {
    Scratch<Moments> mo(sh.units());
    unit_moments(ctx, sh, a.x, mo.data());
    for (int64_t j = 0; j < C; ++j) {
      Moments acc{0.0, 0.0, 0.0};
      for (int64_t i = 0; i < a.n; ++i) acc = merge_moments(acc, mo[i * C + j]);
      // Outside the float32 kernels' range: the statistics again, exactly.
      if (needs_exact(acc.m2, acc.count, acc.mean, [&] { return all_zero(a.x, ChannelRuns(a, j).runs); })) {
        acc = exact_moments(a.x, ChannelRuns(a, j).runs);
      }
      mean[j] = acc.mean;
      var[j] = acc.m2 / acc.count;
    }
    own = true;
  } else {
    for (int64_t j = 0; j < C; ++j) {
      mean[j] = a.running_mean[j];
      var[j] = a.running_var[j];
    }
  }
  // A channel whose variance puts its coefficients outside the float range
  // is normalized in double, on a copy taken before the (maybe in-place)
  // apply pass, and written over that pass's output.
  // (A variance of exactly 0 is a constant channel: no coefficient leaves
  // the float range there.)
  auto exact_channel = [&](int64_t j) { return var[j] != 0.0 && needs_exact(var[j], 1.0); };
  int64_t n_exact = 0;
  for (int64_t j = 0; j < C; ++j) n_exact += exact_channel(j);
  Gathered ex(n_exact, a.n, a.s, 1);
  Scratch<int64_t> ex_channel(n_exact);
  const UnitCoef uc(sh.units(), 3);
  const AffineCoef co{uc.part(0), uc.part(1), uc.part(2)};
  int64_t k = 0;
  for (int64_t j = 0; j < C; ++j) {
    const double r = 1.0 / std::sqrt(var[j] + a.eps);
    if (a.mean) a.mean[j] = static_cast<float>(mean[j]);
    if (a.rstd) a.rstd[j] = static_cast<float>(r);
    const double g = a.gamma ? a.gamma[j] : 1.0, b = a.beta ? a.beta[j] : 0.0;
    // Only the data's own statistics mean "constant data" at variance 0.
    const bool constant = own && var[j] == 0.0;
    if (exact_channel(j)) {
      ex.gather(k, 0, a.x, ChannelRuns(a, j).runs);
      exact_forward(ex.copy(k, 0), ex.copy(k, 0), ex.local(ex.local_bases()), mean[j], r, constant,
                    [&](int64_t) { return g; }, [&](int64_t) { return b; }, 0.0);
      co.sub[j] = co.scale[j] = co.shift[j] = 0.0f;
      ex_channel[k++] = j;
      continue;
    }
    fold_affine(normalizer(mean[j], r, constant), g, b, 0.0, co, j);
  }
  uc.broadcast(3, a.n, C);
  unit_affine(ctx, sh, a.x, a.y, co);
  for (int64_t q = 0; q < n_exact; ++q) ex.scatter(q, 0, a.y, ChannelRuns(a, ex_channel[q]).runs);
  if (a.training && a.running_mean) {
    const double m = a.momentum;
    const double bessel = a.unbiased_running ? count / (count - 1.0) : 1.0;
    for (int64_t j = 0; j < C; ++j) {
      a.running_mean[j] = static_cast<float>((1.0 - m) * a.running_mean[j] + m * mean[j]);
      a.running_var[j] = static_cast<float>((1.0 - m) * a.running_var[j] + m * var[j] * bessel);
    }
  }
}

void batch_norm_backward(const Context& ctx, const BatchNormBackward& a) {
  const int64_t C = a.c;
  const Shape sh{a.n, C, a.s, a.channels_last};
  Scratch<CoMoments> cm(sh.units());
  unit_co_moments(ctx, sh, a.dy, a.x, cm.data());
  Scratch<CoMoments> ch(C);  // per channel, merged over the samples in order
  for (int64_t j = 0; j < C; ++j) {
    CoMoments acc{0.0, 0.0, 0.0, 0.0, 0.0};
    for (int64_t i = 0; i < a.n; ++i) acc = merge_co_moments(acc, cm[i * C + j]);
    ch[j] = acc;
  }
  auto rstd_of_channel = [&](int64_t j) {
    return a.training ? (a.rstd ? static_cast<double>(a.rstd[j]) : -1.0)
                      : 1.0 / std::sqrt(static_cast<double>(a.running_var[j]) + a.eps);
  };
  // Channels outside the float32 kernels' range: in double, on copies of
  // dy and x taken before the apply pass (dx may be dy or x).
  auto exact_channel = [&](int64_t j) {
    const Moments gm = group_x_moments(&ch[j], 1);
    const double r = rstd_of_channel(j);
    return needs_exact(gm.m2, gm.count, gm.mean, [&] { return all_zero(a.x, ChannelRuns(a, j).runs); }) ||
           (r >= 0.0 && rstd_needs_exact(r));
  };
  int64_t n_exact = 0;
  for (int64_t j = 0; j < C; ++j) n_exact += exact_channel(j);
  Gathered ex(n_exact, a.n, a.s, 2);
  Scratch<int64_t> ex_channel(n_exact);
  Scratch<double> ex_share(2 * a.n);
  const Runs local = ex.local(ex.local_bases());
  const UnitCoef uc(sh.units(), a.training ? 5 : 3);
  int64_t k = 0;
  for (int64_t j = 0; j < C; ++j) {
    const double g = a.gamma ? a.gamma[j] : 1.0, r = rstd_of_channel(j);
    const bool exact = exact_channel(j);
    if (exact) {
      const ChannelRuns cr(a, j);
      ex.gather(k, 0, a.dy, cr.runs);
      ex.gather(k, 1, a.x, cr.runs);
      ex_channel[k] = j;
    }
    if (!a.training) {
      // The running statistics are constants: dx = gamma * rstd * dy, which
      // does not depend on x (a NaN in x must not reach dx).
      double sum_xc_dy = ch[j].c_x_dy + ch[j].count * (ch[j].mean_x - a.running_mean[j]) * ch[j].mean_dy;
      double sum_dy = ch[j].count * ch[j].mean_dy;
      if (exact) {
        sum_xc_dy = sum_dy = 0.0;
        float* dyc = ex.copy(k, 0);
        const float* xc = ex.copy(k, 1);
        for (int64_t i = 0; i < a.n * a.s; ++i) {
          sum_xc_dy += (static_cast<double>(xc[i]) - a.running_mean[j]) * dyc[i];
          sum_dy += dyc[i];
          dyc[i] = static_cast<float>(g * r * dyc[i]);
        }
      }
      a.dgamma[j] = static_cast<float>(r * sum_xc_dy);
      a.dbeta[j] = static_cast<float>(sum_dy);
      uc.part(0)[j] = 0.0f;
      uc.part(1)[j] = exact ? 0.0f : static_cast<float>(g * r);
      uc.part(2)[j] = 0.0f;
    } else {
      const GradCoef co{uc.part(0), uc.part(1), uc.part(2), uc.part(3), uc.part(4)};
      double dg = 0.0, db = 0.0;
      if (exact) {
        Scratch<double> gam(a.n);
        for (int64_t i = 0; i < a.n; ++i) gam[i] = g;
        exact_backward(ex.copy(k, 0), ex.copy(k, 1), ex.copy(k, 0), local, gam.data(), r, a.eps, 0.0,
                       ex_share.data(), ex_share.data() + a.n);
        for (int64_t i = 0; i < a.n; ++i) {
          dg += ex_share[i];
          db += ex_share[a.n + i];
        }
        co.dy_sub[j] = co.x_sub[j] = co.a[j] = co.b[j] = co.c[j] = 0.0f;
      } else {
        group_grads(&ch[j], &g, 1, r, a.eps, 0.0, co, j, &dg, &db);
      }
      a.dgamma[j] = static_cast<float>(dg);
      a.dbeta[j] = static_cast<float>(db);
    }
    k += exact;
  }
  if (!a.training) {
    uc.broadcast(3, a.n, C);
    unit_affine(ctx, sh, a.dy, a.dx, AffineCoef{uc.part(0), uc.part(1), uc.part(2)});
  } else {
    uc.broadcast(5, a.n, C);
    unit_backward_apply(ctx, sh, a.dy, a.x, a.dx, GradCoef{uc.part(0), uc.part(1), uc.part(2), uc.part(3), uc.part(4)});
  }
  for (int64_t q = 0; q < n_exact; ++q) ex.scatter(q, 0, a.dx, ChannelRuns(a, ex_channel[q]).runs);
}

INSTNORM_OP("batchNorm", BatchNormForward, batch_norm_forward);
INSTNORM_OP("batchNormBackward", BatchNormBackward, batch_norm_backward);

}  // namespace ops
}  // namespace instnorm
