#include "group_norm.h"

#include <cmath>
#include <vector>

#include "../runtime/thread_pool.h"
#include "policy.h"
#include "stats.h"

namespace instnorm {
namespace ops {
namespace {

using kernels::CoMoments;
using kernels::KernelTable;
using kernels::Moments;

inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

// How a group is normalized: xhat = (x - hi - lo) * rstd.
struct GroupStats {
  SplitMean mean;
  double mean_d, rstd;
  bool constant;  // m2 == 0: xhat is exactly 0, for every eps
};

GroupStats group_stats(const Moments& mo, double eps) {
  return {split(mo.mean), mo.mean, rstd_of(mo.m2, mo.count, eps), mo.m2 == 0.0};
}

// One channel's y = (x - sub) * scale + shift, for y = g*xhat + b + blend*x.
struct Affine {
  float sub, scale, shift;
};

inline Affine channel_affine(const GroupStats& s, double g, double b, double blend) {
  if (s.constant) {
    // xhat = 0 (also for eps = 0, where rstd is infinite, and eps so small
    // that g*rstd would overflow a float): y = b + blend*x.
    return {s.mean.hi, static_cast<float>(blend),
            static_cast<float>(b + blend * static_cast<double>(s.mean.hi))};
  }
  // y = S (x - mean) + b + blend*mean, S = g*rstd + blend; x - mean = (x - hi) - lo.
  const double scale = g * s.rstd + blend;
  const double shift = b + blend * s.mean_d - s.mean.lo * scale;
  return {s.mean.hi, static_cast<float>(scale), static_cast<float>(shift)};
}

// One channel's dx = a (dy - dy_sub) + b (x - x_sub) + c, and its share of
// dgamma and dbeta.
struct ChannelGrad {
  float dy_sub, x_sub, a, b, c;
  double dgamma, dbeta;
};

// The group's gradient coefficients from its channels' joint statistics
// (cm[0..cpg)), gammas g[0..cpg). With xhat = (x - mu) r and dxhat = g dy:
//   dx = r (dxhat - mean(dxhat) - xhat mean(dxhat xhat)) + blend dy
//      = (r g_j + blend) dy - r P - r^2 Q (x - mu),
//   P = mean over the group of g dy,  Q = mean over the group of g dy (x - mu) r.
// Per channel, sum((x - mu) dy) comes from the channel's centred co-moment
// plus a correction for its mean's offset from the group mean, so nothing
// here cancels catastrophically.
void group_grads(const CoMoments* cm, const double* g, int64_t cpg, double saved_rstd,
                 double eps, double blend, ChannelGrad* out) {
  Moments gm{0.0, 0.0, 0.0};
  for (int64_t j = 0; j < cpg; ++j) gm = merge_moments(gm, {cm[j].count, cm[j].mean_x, cm[j].m2_x});
  const double r = saved_rstd >= 0.0 ? saved_rstd : rstd_of(gm.m2, gm.count, eps);
  const SplitMean mu = split(gm.mean);
  double p = 0.0, q = 0.0;
  for (int64_t j = 0; j < cpg; ++j) {
    const double sum_dy = cm[j].count * cm[j].mean_dy;
    const double sum_xc_dy = cm[j].c_x_dy + cm[j].count * (cm[j].mean_x - gm.mean) * cm[j].mean_dy;
    p += g[j] * cm[j].mean_dy * (cm[j].count / gm.count);
    q += g[j] * sum_xc_dy;
    out[j].dgamma = r * sum_xc_dy;
    out[j].dbeta = sum_dy;
  }
  const double b = -r * r * r * q / gm.count;
  const bool undefined = std::isinf(r);  // constant group, eps = 0
  for (int64_t j = 0; j < cpg; ++j) {
    const float dy_sub = static_cast<float>(cm[j].mean_dy);
    ChannelGrad& o = out[j];
    o.dy_sub = dy_sub;
    o.x_sub = mu.hi;
    if (undefined) {
      o.a = static_cast<float>(blend);
      o.b = 0.0f;
      o.c = static_cast<float>(blend * dy_sub);
      o.dgamma = 0.0;
      continue;
    }
    const double a = r * g[j] + blend;
    o.a = static_cast<float>(a);
    o.b = static_cast<float>(b);
    // g dy_sub - P before scaling by r: exactly 0 for a one-element group.
    o.c = static_cast<float>(r * (g[j] * dy_sub - p) + blend * dy_sub - b * mu.lo);
  }
}

// Whole groups per task, or the phased split for few large groups.
inline bool split_groups(int64_t groups, int64_t len, int threads) {
  return len >= 2 * kChunk && groups < 4 * static_cast<int64_t>(threads);
}

// Small groups go in batches: all statistics, then all coefficients, then
// all outputs, so the long scalar chains (sqrt, divisions) of different
// groups overlap instead of each stalling its own.
constexpr int64_t kBatch = 8;
constexpr int64_t kSmallGroup = 1024;  // a batch of these stays in L1

}  // namespace

void group_norm_forward(const KernelTable& k, const GroupNormForward& a) {
  const int64_t C = a.g * a.cpg, groups = a.n * a.g, len = a.cpg * a.m;
  const int64_t numel = groups * len;
  const bool stream = streaming(numel, a.m);
  auto stats_for = [&](int64_t grp, const Moments& mo) {
    const GroupStats s = group_stats(mo, a.eps);
    if (a.mean) a.mean[grp] = static_cast<float>(mo.mean);
    if (a.rstd) a.rstd[grp] = static_cast<float>(s.rstd);
    return s;
  };
  // Elements [start, start + count) of group grp, channel by channel.
  auto apply_span = [&](int64_t grp, const GroupStats& s, int64_t start, int64_t count) {
    const float* x = a.x + grp * len;
    float* y = a.y + grp * len;
    const int64_t first = (a.per_sample ? (grp / a.g) * C : 0) + (grp % a.g) * a.cpg;
    while (count > 0) {
      const int64_t j = start / a.m;
      const int64_t seg = min64(count, (j + 1) * a.m - start);
      const Affine f = channel_affine(s, a.gamma ? a.gamma[first + j] : 1.0,
                                      a.beta ? a.beta[first + j] : 0.0, a.blend);
      k.affine(x + start, y + start, seg, f.sub, f.scale, f.shift, stream);
      start += seg;
      count -= seg;
    }
  };
  const int64_t batch = len <= kSmallGroup ? kBatch : 1;
  const int64_t batches = (groups + batch - 1) / batch;
  auto group_batch = [&](int64_t b) {
    const int64_t g0 = b * batch, g1 = min64(g0 + batch, groups);
    Moments mo[kBatch];
    GroupStats st[kBatch];
    for (int64_t i = g0; i < g1; ++i) mo[i - g0] = plane_moments(k, a.x + i * len, len);
    for (int64_t i = g0; i < g1; ++i) st[i - g0] = stats_for(i, mo[i - g0]);
    for (int64_t i = g0; i < g1; ++i) apply_span(i, st[i - g0], 0, len);
  };

  if (serial(numel, a.threads)) {
    for (int64_t b = 0; b < batches; ++b) group_batch(b);
  } else if (!split_groups(groups, len, a.threads)) {
    runtime::parallel_for(a.threads, batches, group_batch);
  } else {
    thread_local std::vector<Moments> part_scratch;
    thread_local std::vector<GroupStats> stats_scratch;
    const int64_t cpg = chunks_of(len);
    Moments* part = scratch(part_scratch, groups * cpg);
    GroupStats* st = scratch(stats_scratch, groups);
    runtime::parallel_for(a.threads, groups * cpg, [&](int64_t t) {
      const int64_t i = t / cpg, j = t % cpg;
      part[t] = k.moments(a.x + i * len + j * kChunk, chunk_len(len, j));
    });
    for (int64_t i = 0; i < groups; ++i) {
      Moments acc{0.0, 0.0, 0.0};  // same order as plane_moments()
      for (int64_t j = 0; j < cpg; ++j) acc = merge_moments(acc, part[i * cpg + j]);
      st[i] = stats_for(i, acc);
    }
    runtime::parallel_for(a.threads, groups * cpg, [&](int64_t t) {
      const int64_t i = t / cpg, j = t % cpg;
      apply_span(i, st[i], j * kChunk, chunk_len(len, j));
    });
  }
}

void group_norm_backward(const KernelTable& k, const GroupNormBackward& a) {
  const int64_t C = a.g * a.cpg, groups = a.n * a.g, units = a.n * C, m = a.m;
  const int64_t len = a.cpg * m, numel = units * m;
  const bool saved = a.mean && a.rstd;
  const bool stream = streaming(numel, m);
  thread_local std::vector<CoMoments> cm_scratch;
  thread_local std::vector<ChannelGrad> grad_scratch;
  thread_local std::vector<double> gamma_scratch;
  CoMoments* cm = scratch(cm_scratch, units);
  ChannelGrad* grad = scratch(grad_scratch, units);
  // The gamma of every (n, c) unit, so a group's coefficients read one run.
  double* gam = scratch(gamma_scratch, units);
  for (int64_t u = 0; u < units; ++u) {
    const int64_t idx = a.per_sample ? u : u % C;
    gam[u] = a.gamma ? static_cast<double>(a.gamma[idx]) : 1.0;
  }
  auto finish_group = [&](int64_t grp) {
    const int64_t u0 = grp * a.cpg;
    group_grads(cm + u0, gam + u0, a.cpg, saved ? static_cast<double>(a.rstd[grp]) : -1.0,
                a.eps, a.blend, grad + u0);
  };
  auto apply = [&](int64_t u, int64_t start, int64_t count) {
    const int64_t off = u * m + start;
    const ChannelGrad& c = grad[u];
    k.backward_apply(a.dy + off, a.x + off, a.dx + off, count, c.dy_sub, c.x_sub, c.a, c.b, c.c, stream);
  };
  // Groups in memory order (small ones in batches, so the scalar work of
  // several groups overlaps). Parallel over groups, not channels, so a
  // tensor with few channels still uses every thread.
  const int64_t batch = len <= kSmallGroup ? kBatch : 1;
  const int64_t batches = (groups + batch - 1) / batch;
  auto group_batch = [&](int64_t b) {
    const int64_t u0 = b * batch * a.cpg, u1 = min64((b + 1) * batch, groups) * a.cpg;
    for (int64_t u = u0; u < u1; ++u) cm[u] = plane_co_moments(k, a.dy + u * m, a.x + u * m, m);
    for (int64_t i = b * batch; i < min64((b + 1) * batch, groups); ++i) finish_group(i);
    for (int64_t u = u0; u < u1; ++u) apply(u, 0, m);
  };

  if (serial(numel, a.threads)) {
    for (int64_t b = 0; b < batches; ++b) group_batch(b);
  } else if (!split_groups(groups, len, a.threads)) {
    runtime::parallel_for(a.threads, batches, group_batch);
  } else {
    thread_local std::vector<CoMoments> part_scratch;
    const int64_t cpu = chunks_of(m);
    CoMoments* part = scratch(part_scratch, units * cpu);
    runtime::parallel_for(a.threads, units * cpu, [&](int64_t t) {
      const int64_t u = t / cpu, j = t % cpu, off = u * m + j * kChunk;
      part[t] = k.co_moments(a.dy + off, a.x + off, chunk_len(m, j));
    });
    for (int64_t u = 0; u < units; ++u) {
      CoMoments acc{0.0, 0.0, 0.0, 0.0, 0.0};  // same order as plane_co_moments()
      for (int64_t j = 0; j < cpu; ++j) acc = merge_co_moments(acc, part[u * cpu + j]);
      cm[u] = acc;
    }
    for (int64_t i = 0; i < groups; ++i) finish_group(i);
    runtime::parallel_for(a.threads, units * cpu, [&](int64_t t) {
      const int64_t u = t / cpu, j = t % cpu;
      apply(u, j * kChunk, chunk_len(m, j));
    });
  }

  // dgamma/dbeta: per sample as they are, or summed over n in a fixed order.
  if (a.per_sample) {
    for (int64_t u = 0; u < units; ++u) {
      a.dgamma[u] = static_cast<float>(grad[u].dgamma);
      a.dbeta[u] = static_cast<float>(grad[u].dbeta);
    }
    return;
  }
  for (int64_t c = 0; c < C; ++c) {
    double dg = 0.0, db = 0.0;
    for (int64_t n = 0; n < a.n; ++n) {
      dg += grad[n * C + c].dgamma;
      db += grad[n * C + c].dbeta;
    }
    a.dgamma[c] = static_cast<float>(dg);
    a.dbeta[c] = static_cast<float>(db);
  }
}

}  // namespace ops
}  // namespace instnorm
