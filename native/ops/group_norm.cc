// Group norm channels-first: x viewed as [N, G, cpg, S], each (n, g) group a
// contiguous run of cpg*S floats. Its statistics are taken and its output
// written while the run is still in cache (one read from memory, one
// re-read from cache); a tensor of few large groups is instead split into
// fixed chunks across threads in phases (statistics, fold, apply).
#include "group_norm.h"

#include "../runtime/thread_pool.h"
#include "exact.h"
#include "fold.h"
#include "group_norm_rows.h"
#include "policy.h"
#include "scratch.h"
#include "stats.h"

namespace instnorm {
namespace ops {

using kernels::CoMoments;
using kernels::Moments;

const char* group_check(int64_t c, int64_t groups, int64_t affine, int64_t rows, int64_t n, double eps) {
  if (c % groups != 0) return "groups must divide c";
  if (!(eps >= 0.0)) return "eps must be a finite number >= 0";
  if (affine == kPerChannel && rows != 1) return "rows must be 1 for a per-channel affine";
  if (affine == kPerSample && rows != n) return "rows must be n for a per-sample affine";
  return nullptr;
}

void reduce_rows(const double* share_g, const double* share_b, int64_t n, int64_t c, int64_t rows,
                 const SampleRows& row_of, float* dgamma, float* dbeta) {
  Scratch<double> acc(2 * rows * c);
  double* ag = acc.data();
  double* ab = ag + rows * c;
  for (int64_t i = 0; i < 2 * rows * c; ++i) ag[i] = 0.0;
  for (int64_t s = 0; s < n; ++s) {
    const int64_t r = row_of(s) * c;
    for (int64_t j = 0; j < c; ++j) {
      ag[r + j] += share_g[s * c + j];
      ab[r + j] += share_b[s * c + j];
    }
  }
  for (int64_t i = 0; i < rows * c; ++i) {
    dgamma[i] = static_cast<float>(ag[i]);
    dbeta[i] = static_cast<float>(ab[i]);
  }
}

namespace {

inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

// Whole groups per task, or the phased split for few large groups.
inline bool split_groups(int64_t groups, int64_t len, int threads) {
  return len >= 2 * kChunk && groups < 4 * static_cast<int64_t>(threads);
}

// Small groups go in batches: all statistics, then all coefficients, then
// all outputs, so the long scalar chains (sqrt, divisions) of different
// groups overlap instead of each stalling its own.
constexpr int64_t kBatch = 8;
constexpr int64_t kSmallGroup = 1024;  // a batch of these stays in L1
// Planes longer than this (one channel per group) run fused (below), not in
// batches: for 768- and 1024-float planes the batch's dy and x (64 KiB at
// 1024) overflow L1 before the apply pass re-reads them. Measured with the
// C++ op driver (build-tests/op_profile, 1 thread, 3 runs, this AVX-512
// VM): 1x512x32x32 avx512 forward 1.19-1.27 -> 1.02-1.22x memcpy, backward
// 2.05-2.22 -> 1.86-1.99; avx2 forward 1.26-1.42 -> 1.05-1.06; 768-float
// planes (2x256x24x32) forward 1.29-1.80 -> 1.04-1.13. 512-float planes
// were no faster fused.
constexpr int64_t kFuseAbove = 512;

// Fused runs per parallel region: a few per thread, so that a thread that
// finishes early takes another (each run starts with one unfused plane).
inline int64_t runs_for(int64_t groups, int threads) {
  const int64_t r = 4 * static_cast<int64_t>(threads);
  return groups < r ? groups : r;
}

// Planes per plane-batch kernel call (a multiple of every ISA's vector
// width), and when that kernel is used: one channel per group, short planes
// (policy.h), and an eps that is a float (the kernel's arithmetic is fp32;
// a larger eps only ever happens in tests, and the per-group path takes it
// in double).
constexpr int64_t kPlaneBatch = 64;
inline bool small_planes(const kernels::KernelTable& k, int64_t cpg, int64_t len, double eps) {
  return cpg == 1 && len <= plane_batch_max_len(k.vector_width) && eps <= 1e30;
}

// Double coefficients as floats, in out; null when one is beyond the float
// range (then the caller keeps the doubles).
inline const float* float_coefficients(int64_t count, const double* v, float* out) {
  for (int64_t j = 0; j < count; ++j) {
    if (!(v[j] >= -3.4e38 && v[j] <= 3.4e38)) return nullptr;
    out[j] = static_cast<float>(v[j]);
  }
  return out;
}

// Groups per batch task: several small ones, so that their scalar work
// overlaps.
inline int64_t batch_of(int64_t len) { return len <= kSmallGroup ? kBatch : 1; }

// How a pass goes over the groups, the same choice forward and backward:
// short single-channel planes in plane batches; otherwise whole groups per
// task (fused runs of large single-channel planes, or batches), all on this
// thread for small tensors; or, for a few groups larger than a thread's
// share, the phased split.
template <class PlaneBatch, class GroupRun, class GroupBatch, class Phased>
void for_groups(const Context& ctx, int64_t numel, int64_t groups, int64_t len, bool small, bool fused,
                int64_t plane_batches, PlaneBatch plane_batch, GroupRun group_run, GroupBatch group_batch,
                Phased phased) {
  const bool one = serial(numel, ctx.threads);
  const bool whole = one || !split_groups(groups, len, ctx.threads);
  if (small) {
    run_tasks(ctx.threads, numel, plane_batches, plane_batch);
  } else if (fused && whole) {
    const int64_t runs = one ? 1 : runs_for(groups, ctx.threads);
    run_tasks(ctx.threads, numel, runs, [&](int64_t r) { group_run(r * groups / runs, (r + 1) * groups / runs); });
  } else if (whole) {
    const int64_t batch = batch_of(len);
    run_tasks(ctx.threads, numel, (groups + batch - 1) / batch, group_batch);
  } else {
    phased();
  }
}

void forward_nchw(const Context& ctx, const GroupNormForward& a, const SampleRows& row_of) {
  const kernels::KernelTable& k = ctx.k;
  const int64_t C = a.c, G = a.groups, cpg = C / G, m = a.s;
  const int64_t groups = a.n * G, len = cpg * m, numel = groups * len;
  const bool stream = streaming(numel, m);
  auto stats_for = [&](int64_t grp, const Moments& mo) {
    const Normalizer s = normalizer(mo, a.eps);
    if (a.mean) a.mean[grp] = static_cast<float>(mo.mean);
    if (a.rstd) a.rstd[grp] = static_cast<float>(s.rstd);
    return s;
  };
  // A group outside the float32 kernels' range (exact.h) is normalized
  // here in double, whole; true when that was the case.
  auto exact_normalize = [&](int64_t grp) {
    Scratch<int64_t> bases(cpg);
    for (int64_t j = 0; j < cpg; ++j) bases[j] = grp * len + j * m;
    const Runs r{bases.data(), cpg, 1, m};
    const Moments ex = exact_moments(a.x, r);
    const double rstd = rstd_of(ex.m2, ex.count, a.eps);
    if (a.mean) a.mean[grp] = static_cast<float>(ex.mean);
    if (a.rstd) a.rstd[grp] = static_cast<float>(rstd);
    const int64_t first = row_of(grp / G) * C + (grp % G) * cpg;
    exact_forward(a.x, a.y, r, ex.mean, rstd, ex.m2 == 0.0, [&](int64_t j) { return a.gamma_at(first + j); },
                  [&](int64_t j) { return a.beta_at(first + j); }, a.blend);
  };
  auto exact_group = [&](int64_t grp, const Moments& mo) {
    if (!needs_exact(mo.m2, mo.count, mo.mean, [&] { return all_zero(a.x + grp * len, len); })) return false;
    exact_normalize(grp);
    return true;
  };
  // Elements [start, start + count) of group grp, channel by channel.
  auto apply_span = [&](int64_t grp, const Normalizer& s, int64_t start, int64_t count) {
    const float* x = a.x + grp * len;
    float* y = a.y + grp * len;
    const int64_t first = row_of(grp / G) * C + (grp % G) * cpg;
    while (count > 0) {
      const int64_t j = start / m;
      const int64_t seg = min64(count, (j + 1) * m - start);
      float sub, scale, shift;
      fold_affine(s, a.gamma_at(first + j), a.beta_at(first + j), a.blend, {&sub, &scale, &shift}, 0);
      k.affine(x + start, y + start, seg, sub, scale, shift, stream);
      start += seg;
      count -= seg;
    }
  };
  // One channel per group (instance norm, conditional IN, AdaIN) on large
  // planes: groups in runs, each plane's apply carried by the next plane's
  // statistics (affine_moments), the moments the same bits as alone.
  const bool fused = cpg == 1 && len > kFuseAbove;
  auto group_run = [&](int64_t g0, int64_t g1) {
    Moments mo = plane_moments(k, a.x + g0 * len, len);
    for (int64_t i = g0; i < g1; ++i) {
      const bool last = i + 1 == g1;
      if (exact_group(i, mo)) {
        if (!last) mo = plane_moments(k, a.x + (i + 1) * len, len);
        continue;
      }
      const Normalizer st = stats_for(i, mo);
      if (last) {
        apply_span(i, st, 0, len);
        break;
      }
      float sub, scale, shift;
      const int64_t idx = row_of(i / G) * C + i % G;
      fold_affine(st, a.gamma_at(idx), a.beta_at(idx), a.blend, {&sub, &scale, &shift}, 0);
      const float* x = a.x + i * len;
      float* y = a.y + i * len;
      Moments next{0.0, 0.0, 0.0};  // chunk by chunk, as plane_moments() merges
      for (int64_t j = 0; j * kChunk < len; ++j) {
        const int64_t o = j * kChunk, n = chunk_len(len, j);
        next = merge_moments(next, k.affine_moments(x + o, y + o, n, sub, scale, shift, stream, x + len + o, n));
      }
      mo = next;
    }
  };
  const int64_t batch = batch_of(len);
  auto group_batch = [&](int64_t b) {
    const int64_t g0 = b * batch, g1 = min64(g0 + batch, groups);
    Moments mo[kBatch];
    Normalizer st[kBatch];
    bool exact[kBatch];
    for (int64_t i = g0; i < g1; ++i) mo[i - g0] = plane_moments(k, a.x + i * len, len);
    for (int64_t i = g0; i < g1; ++i) {
      exact[i - g0] = exact_group(i, mo[i - g0]);
      if (!exact[i - g0]) st[i - g0] = stats_for(i, mo[i - g0]);
    }
    for (int64_t i = g0; i < g1; ++i) {
      if (!exact[i - g0]) apply_span(i, st[i - g0], 0, len);
    }
  };

  // One channel per group on short planes: the plane-batch kernel takes up
  // to kPlaneBatch planes of a sample per call in fp32 (their statistics,
  // coefficients and outputs, with the affine row read in place); the
  // planes it flags are normalized by the exact path. A batch whose affine
  // does not fit in floats (AdaIN's double coefficients) is done group by
  // group instead.
  const int64_t per_sample = (C + kPlaneBatch - 1) / kPlaneBatch;
  auto plane_batch = [&](int64_t b) {
    const int64_t n = b / per_sample, c0 = (b % per_sample) * kPlaneBatch, np = min64(kPlaneBatch, C - c0);
    const int64_t p0 = n * C + c0, row = row_of(n) * C + c0;
    float g64[kPlaneBatch], b64[kPlaneBatch];
    const float* g = a.gamma ? a.gamma + row : nullptr;
    const float* be = a.beta ? a.beta + row : nullptr;
    if ((a.gamma64 && !(g = float_coefficients(np, a.gamma64 + row, g64))) ||
        (a.beta64 && !(be = float_coefficients(np, a.beta64 + row, b64)))) {
      for (int64_t i = p0; i < p0 + np; ++i) {
        const Moments mo = plane_moments(k, a.x + i * len, len);
        if (!exact_group(i, mo)) apply_span(i, stats_for(i, mo), 0, len);
      }
      return;
    }
    uint8_t exact[kPlaneBatch];
    k.plane_batch_forward(a.x + p0 * len, a.y + p0 * len, np, len, g, be, static_cast<float>(a.blend),
                          static_cast<float>(a.eps), a.mean ? a.mean + p0 : nullptr, a.rstd ? a.rstd + p0 : nullptr,
                          exact);
    for (int64_t j = 0; j < np; ++j) {
      if (exact[j]) exact_normalize(p0 + j);
    }
  };

  // Few groups larger than a thread's share: statistics, then the apply,
  // each a parallel phase.
  auto phased = [&] {
    const int64_t cpr = chunks_of(len);
    Scratch<Moments> part(groups * cpr);
    Scratch<Normalizer> st(groups);
    Scratch<bool> exact(groups);
    runtime::parallel_for(ctx.threads, groups * cpr, [&](int64_t t) {
      const int64_t i = t / cpr, j = t % cpr;
      part[t] = k.moments(a.x + i * len + j * kChunk, chunk_len(len, j));
    });
    for (int64_t i = 0; i < groups; ++i) {
      Moments acc{0.0, 0.0, 0.0};  // same order as plane_moments()
      for (int64_t j = 0; j < cpr; ++j) acc = merge_moments(acc, part[i * cpr + j]);
      exact[i] = exact_group(i, acc);
      if (!exact[i]) st[i] = stats_for(i, acc);
    }
    runtime::parallel_for(ctx.threads, groups * cpr, [&](int64_t t) {
      const int64_t i = t / cpr, j = t % cpr;
      if (!exact[i]) apply_span(i, st[i], j * kChunk, chunk_len(len, j));
    });
  };
  for_groups(ctx, numel, groups, len, small_planes(k, cpg, len, a.eps), fused, a.n * per_sample, plane_batch,
             group_run, group_batch, phased);
}

// Gradient coefficients for `count` units in one block of 5*count floats.
struct GradBlock {
  Scratch<float> mem;
  GradCoef co;
  explicit GradBlock(int64_t count) : mem(5 * count) {
    float* p = mem.data();
    co = {p, p + count, p + 2 * count, p + 3 * count, p + 4 * count};
  }
};

void backward_nchw(const Context& ctx, const GroupNormBackward& a, const SampleRows& row_of) {
  const kernels::KernelTable& k = ctx.k;
  const int64_t C = a.c, G = a.groups, cpg = C / G, m = a.s;
  const int64_t groups = a.n * G, units = a.n * C, len = cpg * m, numel = units * m;
  const bool saved = a.rstd != nullptr;
  const bool stream = streaming(numel, m);
  Scratch<double> share(2 * units);  // dgamma, then dbeta share of every unit
  double* share_g = share.data();
  double* share_b = share_g + units;
  auto gamma_of = [&](int64_t u) { return a.gamma_at(row_of(u / C) * C + u % C); };
  // The coefficients of groups [g0, g1) from their units' joint statistics
  // cm[0..), into co (indexed from unit g0*cpg); a group outside the
  // float32 kernels' range (exact.h) is done here, in double, and marked in
  // exact[i - g0] so that the apply pass leaves it alone.
  auto fold_groups = [&](int64_t g0, int64_t g1, const CoMoments* cm, GradCoef co, bool* exact) {
    Scratch<double> gam(cpg);
    Scratch<int64_t> bases(cpg);
    for (int64_t i = g0; i < g1; ++i) {
      const int64_t u0 = i * cpg;
      const CoMoments* gc = cm + (u0 - g0 * cpg);
      for (int64_t j = 0; j < cpg; ++j) gam[j] = gamma_of(u0 + j);
      const double r = saved ? static_cast<double>(a.rstd[i]) : -1.0;
      const Moments gm = group_x_moments(gc, cpg);
      exact[i - g0] = needs_exact(gm.m2, gm.count, gm.mean, [&] { return all_zero(a.x + u0 * m, cpg * m); }) ||
                      (saved && rstd_needs_exact(r));
      if (exact[i - g0]) {
        for (int64_t j = 0; j < cpg; ++j) bases[j] = (u0 + j) * m;
        exact_backward(a.dy, a.x, a.dx, Runs{bases.data(), cpg, 1, m}, gam.data(), r, a.eps, a.blend, share_g + u0,
                       share_b + u0);
        continue;
      }
      group_grads(gc, gam.data(), cpg, r, a.eps, a.blend, co, u0 - g0 * cpg, share_g + u0, share_b + u0);
    }
  };
  auto apply = [&](int64_t u, int64_t start, int64_t count, const GradCoef& co, int64_t i) {
    const int64_t off = u * m + start;
    k.backward_apply(a.dy + off, a.x + off, a.dx + off, count, co.dy_sub[i], co.x_sub[i], co.a[i], co.b[i],
                     co.c[i], stream);
  };
  // One channel per group on large planes: as in the forward, runs of
  // groups, each plane's apply carried by the next plane's statistics
  // (backward_apply_co_moments, the same bits as co_moments alone).
  const bool fused = cpg == 1 && len > kFuseAbove;
  auto group_run = [&](int64_t g0, int64_t g1) {
    CoMoments cm = plane_co_moments(k, a.dy + g0 * m, a.x + g0 * m, m);
    GradBlock gb(1);
    for (int64_t i = g0; i < g1; ++i) {
      bool exact;
      fold_groups(i, i + 1, &cm, gb.co, &exact);
      const bool last = i + 1 == g1;
      if (exact || last) {
        if (!exact) apply(i, 0, m, gb.co, 0);
        if (!last) cm = plane_co_moments(k, a.dy + (i + 1) * m, a.x + (i + 1) * m, m);
        continue;
      }
      const int64_t off = i * m;
      CoMoments next{0.0, 0.0, 0.0, 0.0, 0.0};  // chunk by chunk, as plane_co_moments() merges
      for (int64_t j = 0; j * kChunk < m; ++j) {
        const int64_t o = off + j * kChunk, n = chunk_len(m, j);
        next = merge_co_moments(next, k.backward_apply_co_moments(a.dy + o, a.x + o, a.dx + o, n, gb.co.dy_sub[0],
                                                                  gb.co.x_sub[0], gb.co.a[0], gb.co.b[0], gb.co.c[0],
                                                                  stream, a.dy + o + m, a.x + o + m, n));
      }
      cm = next;
    }
  };
  // Otherwise groups in memory order (small ones in batches, so the scalar
  // work of several groups overlaps). Parallel over groups, not channels,
  // so a tensor with few channels still uses every thread.
  const int64_t batch = batch_of(len);
  auto group_batch = [&](int64_t b) {
    const int64_t g0 = b * batch, g1 = min64(g0 + batch, groups);
    const int64_t u0 = g0 * cpg, u1 = g1 * cpg;
    Scratch<CoMoments> cm(u1 - u0);
    GradBlock gb(u1 - u0);
    bool exact[kBatch];
    for (int64_t u = u0; u < u1; ++u) cm[u - u0] = plane_co_moments(k, a.dy + u * m, a.x + u * m, m);
    fold_groups(g0, g1, cm.data(), gb.co, exact);
    for (int64_t u = u0; u < u1; ++u) {
      if (!exact[u / cpg - g0]) apply(u, 0, m, gb.co, u - u0);
    }
  };

  // Short planes, one channel per group: as in the forward, the plane-batch
  // kernel (dx and each plane's dgamma/dbeta shares), the exact path for
  // the planes it flags, group by group for gammas beyond the float range.
  const int64_t per_sample = (C + kPlaneBatch - 1) / kPlaneBatch;
  auto plane_batch = [&](int64_t b) {
    const int64_t n = b / per_sample, c0 = (b % per_sample) * kPlaneBatch, np = min64(kPlaneBatch, C - c0);
    const int64_t p0 = n * C + c0, row = row_of(n) * C + c0;
    float g64[kPlaneBatch];
    const float* g = a.gamma ? a.gamma + row : nullptr;
    if (a.gamma64 && !(g = float_coefficients(np, a.gamma64 + row, g64))) {
      GradBlock gb(1);
      for (int64_t i = p0; i < p0 + np; ++i) {
        const CoMoments cm = plane_co_moments(k, a.dy + i * m, a.x + i * m, m);
        bool exact;
        fold_groups(i, i + 1, &cm, gb.co, &exact);
        if (!exact) apply(i, 0, m, gb.co, 0);
      }
      return;
    }
    uint8_t exact[kPlaneBatch];
    k.plane_batch_backward(a.dy + p0 * m, a.x + p0 * m, a.dx + p0 * m, np, m, g, saved ? a.rstd + p0 : nullptr,
                           static_cast<float>(a.blend), static_cast<float>(a.eps), share_g + p0, share_b + p0, exact);
    for (int64_t j = 0; j < np; ++j) {
      if (!exact[j]) continue;
      const int64_t u = p0 + j, base = u * m;
      const double gam = gamma_of(u);
      exact_backward(a.dy, a.x, a.dx, Runs{&base, 1, 1, m}, &gam, saved ? static_cast<double>(a.rstd[u]) : -1.0,
                     a.eps, a.blend, share_g + u, share_b + u);
    }
  };

  // Few groups larger than a thread's share: statistics, then the apply,
  // each a parallel phase.
  auto phased = [&] {
    const int64_t chunks = chunks_of(m);
    Scratch<CoMoments> part(units * chunks);
    Scratch<CoMoments> cm(units);
    GradBlock gb(units);
    Scratch<bool> exact(groups);
    runtime::parallel_for(ctx.threads, units * chunks, [&](int64_t t) {
      const int64_t u = t / chunks, j = t % chunks, off = u * m + j * kChunk;
      part[t] = k.co_moments(a.dy + off, a.x + off, chunk_len(m, j));
    });
    for (int64_t u = 0; u < units; ++u) {
      CoMoments acc{0.0, 0.0, 0.0, 0.0, 0.0};  // same order as plane_co_moments()
      for (int64_t j = 0; j < chunks; ++j) acc = merge_co_moments(acc, part[u * chunks + j]);
      cm[u] = acc;
    }
    fold_groups(0, groups, cm.data(), gb.co, exact.data());
    runtime::parallel_for(ctx.threads, units * chunks, [&](int64_t t) {
      const int64_t u = t / chunks, j = t % chunks;
      if (!exact[u / cpg]) apply(u, j * kChunk, chunk_len(m, j), gb.co, u);
    });
  };
  for_groups(ctx, numel, groups, len, small_planes(k, cpg, len, a.eps), fused, a.n * per_sample, plane_batch,
             group_run, group_batch, phased);
  reduce_rows(share_g, share_b, a.n, C, a.rows, row_of, a.dgamma, a.dbeta);
}

}  // namespace

void group_norm_forward(const Context& ctx, const GroupNormForward& d) {
  const SampleRows row_of(d.affine, d.n, d.rows, d.condition);
  if (d.channels_last) {
    group_norm_forward_nhwc(ctx, d, row_of);
  } else {
    forward_nchw(ctx, d, row_of);
  }
}

void group_norm_backward(const Context& ctx, const GroupNormBackward& d) {
  const SampleRows row_of(d.affine, d.n, d.rows, d.condition);
  if (d.channels_last) {
    group_norm_backward_nhwc(ctx, d, row_of);
  } else {
    backward_nchw(ctx, d, row_of);
  }
}

INSTNORM_OP("groupNorm", GroupNormForward, group_norm_forward);
INSTNORM_OP("groupNormBackward", GroupNormBackward, group_norm_backward);

}  // namespace ops
}  // namespace instnorm
