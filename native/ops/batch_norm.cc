// Batch norm is a statistics pass over the whole batch, a fold per channel,
// then one apply pass: no output can be written before every sample has
// been read. Per-unit statistics come from units.h and are merged per
// channel over the samples in order, so results do not depend on threads.
#include "batch_norm.h"

#include <cmath>

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
  const UnitCoef uc(sh.units(), 3);
  const AffineCoef co{uc.part(0), uc.part(1), uc.part(2)};
  for (int64_t j = 0; j < C; ++j) {
    const double r = 1.0 / std::sqrt(var[j] + a.eps);
    if (a.mean) a.mean[j] = static_cast<float>(mean[j]);
    if (a.rstd) a.rstd[j] = static_cast<float>(r);
    // Only the data's own statistics mean "constant data" at variance 0.
    fold_affine(normalizer(mean[j], r, own && var[j] == 0.0), a.gamma ? a.gamma[j] : 1.0,
                a.beta ? a.beta[j] : 0.0, 0.0, co, j);
  }
  uc.broadcast(3, a.n, C);
  unit_affine(ctx, sh, a.x, a.y, co);
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
  if (!a.training) {
    // The running statistics are constants: dx = gamma * rstd * dy, which
    // does not depend on x (a NaN in x must not reach dx).
    const UnitCoef uc(sh.units(), 3);
    const AffineCoef co{uc.part(0), uc.part(1), uc.part(2)};
    for (int64_t j = 0; j < C; ++j) {
      const double r = 1.0 / std::sqrt(static_cast<double>(a.running_var[j]) + a.eps);
      const double sum_xc_dy = ch[j].c_x_dy + ch[j].count * (ch[j].mean_x - a.running_mean[j]) * ch[j].mean_dy;
      a.dgamma[j] = static_cast<float>(r * sum_xc_dy);
      a.dbeta[j] = static_cast<float>(ch[j].count * ch[j].mean_dy);
      co.sub[j] = 0.0f;
      co.scale[j] = static_cast<float>((a.gamma ? a.gamma[j] : 1.0) * r);
      co.shift[j] = 0.0f;
    }
    uc.broadcast(3, a.n, C);
    unit_affine(ctx, sh, a.dy, a.dx, co);
    return;
  }
  const UnitCoef uc(sh.units(), 5);
  const GradCoef co{uc.part(0), uc.part(1), uc.part(2), uc.part(3), uc.part(4)};
  for (int64_t j = 0; j < C; ++j) {
    const double g = a.gamma ? a.gamma[j] : 1.0;
    double dg, db;
    group_grads(&ch[j], &g, 1, a.rstd ? static_cast<double>(a.rstd[j]) : -1.0, a.eps, 0.0, co, j, &dg, &db);
    a.dgamma[j] = static_cast<float>(dg);
    a.dbeta[j] = static_cast<float>(db);
  }
  uc.broadcast(5, a.n, C);
  unit_backward_apply(ctx, sh, a.dy, a.x, a.dx, co);
}

INSTNORM_OP("batchNorm", BatchNormForward, batch_norm_forward);
INSTNORM_OP("batchNormBackward", BatchNormBackward, batch_norm_backward);

}  // namespace ops
}  // namespace instnorm
