// Group norm channels-last: x is [N, S, C]; group g of sample n is columns
// [g*cpg, (g+1)*cpg) of that sample's S rows. Statistics come per unit
// (n, c) from the column kernels, are merged per group, folded into
// per-unit coefficients, and applied. Samples of up to kSlabBytes are
// handled whole, several per task, so the apply pass re-reads them from the
// cache of the core that just read them.
#include "../runtime/thread_pool.h"
#include "exact.h"
#include "fold.h"
#include "group_norm_rows.h"
#include "policy.h"
#include "scratch.h"
#include "stats.h"
#include "units.h"

namespace instnorm {
namespace ops {

using kernels::CoMoments;
using kernels::Moments;

namespace {

// Samples per task when whole samples fit the slab, else 0.
int64_t samples_per_slab(int64_t c, int64_t s) {
  const int64_t bytes = sat_mul(c, s, 4);
  return bytes <= kSlabBytes ? kSlabBytes / bytes : 0;
}

// Runs f(context, n0, n1) over sample ranges: whole slabs in parallel (each
// on one thread), or one sample at a time with its passes parallel.
template <class F>
void by_slabs(const Context& ctx, int64_t n, int64_t c, int64_t s, F f) {
  const int64_t per = samples_per_slab(c, s);
  if (per == 0) {
    for (int64_t i = 0; i < n; ++i) f(ctx, i, i + 1);
    return;
  }
  const int64_t slabs = (n + per - 1) / per;
  const Context one{ctx.k, 1};
  run_tasks(ctx.threads, sat_mul(n, c, s), slabs, [&](int64_t t) {
    const int64_t n0 = t * per, n1 = n0 + per < n ? n0 + per : n;
    f(one, n0, n1);
  });
}

}  // namespace

// The runs of group g of sample n: columns g*cpg.. of its S rows.
struct GroupRuns {
  Scratch<int64_t> bases;
  Runs runs;
  GroupRuns(int64_t n, int64_t g, int64_t cpg, int64_t S, int64_t C) : bases(cpg), runs{nullptr, cpg, C, S} {
    for (int64_t j = 0; j < cpg; ++j) bases[j] = n * S * C + g * cpg + j;
    runs.bases = bases.data();
  }
};

void group_norm_forward_nhwc(const Context& ctx, const GroupNormForward& a, const SampleRows& row_of) {
  const int64_t C = a.c, G = a.groups, cpg = C / G, S = a.s;
  by_slabs(ctx, a.n, C, S, [&](const Context& c2, int64_t n0, int64_t n1) {
    const Shape sh{n1 - n0, C, S, true};
    const int64_t units = sh.units(), off = n0 * C * S;
    Scratch<Moments> mo(units);
    Scratch<float> mem(3 * units);
    const AffineCoef co{mem.data(), mem.data() + units, mem.data() + 2 * units};
    unit_moments(c2, sh, a.x + off, mo.data());
    // Groups outside the float32 kernels' range (exact.h) are computed in
    // double on copies taken before the apply pass (which may be in place)
    // and written over its output afterwards.
    // Each group's moments: with one channel per group, the unit's own
    // (merging it into nothing would return it unchanged).
    Scratch<Moments> merged(cpg == 1 ? 0 : sh.n * G);
    const Moments* gms = cpg == 1 ? mo.data() : merged.data();
    Scratch<bool> exact(sh.n * G);
    int64_t n_exact = 0;
    for (int64_t q = 0; q < sh.n * G; ++q) {
      if (cpg > 1) {
        Moments acc{0.0, 0.0, 0.0};
        for (int64_t j = 0; j < cpg; ++j) acc = merge_moments(acc, mo[q * cpg + j]);
        merged[q] = acc;
      }
      const Moments& gm = gms[q];
      exact[q] = needs_exact(gm.m2, gm.count, gm.mean,
                             [&] { return all_zero(a.x, GroupRuns(n0 + q / G, q % G, cpg, S, C).runs); });
      n_exact += exact[q];
    }
    if (cpg == 1 && n_exact == 0) {
      // Instance norm with every unit on the float32 path (the usual case):
      // the loop below for one unit per group, without its per-group
      // indexing (the same calls, so the same bits).
      for (int64_t i = 0; i < sh.n; ++i) {
        const int64_t row = row_of(n0 + i) * C, u0 = i * C, grp0 = (n0 + i) * C;
        for (int64_t c = 0; c < C; ++c) {
          const Normalizer st = normalizer(mo[u0 + c], a.eps);
          if (a.mean) a.mean[grp0 + c] = static_cast<float>(mo[u0 + c].mean);
          if (a.rstd) a.rstd[grp0 + c] = static_cast<float>(st.rstd);
          fold_affine(st, a.gamma_at(row + c), a.beta_at(row + c), a.blend, co, u0 + c);
        }
      }
      unit_affine(c2, sh, a.x + off, a.y + off, co, a.n * C * S);
      return;
    }
    Gathered ex(n_exact, cpg, S, 1);
    Scratch<int64_t> ex_group(n_exact);
    int64_t k = 0;
    for (int64_t i = 0; i < sh.n; ++i) {
      const int64_t row = row_of(n0 + i) * C;
      for (int64_t g = 0; g < G; ++g) {
        const int64_t u0 = i * C + g * cpg, grp = (n0 + i) * G + g;
        const Moments& gm = gms[i * G + g];
        if (exact[i * G + g]) {
          const GroupRuns gr(n0 + i, g, cpg, S, C);
          ex.gather(k, 0, a.x, gr.runs);
          const Runs local = ex.local(ex.local_bases());
          const Moments em = exact_moments(ex.copy(k, 0), local);
          const double rstd = rstd_of(em.m2, em.count, a.eps);
          if (a.mean) a.mean[grp] = static_cast<float>(em.mean);
          if (a.rstd) a.rstd[grp] = static_cast<float>(rstd);
          exact_forward(ex.copy(k, 0), ex.copy(k, 0), local, em.mean, rstd, em.m2 == 0.0,
                        [&](int64_t j) { return a.gamma_at(row + g * cpg + j); },
                        [&](int64_t j) { return a.beta_at(row + g * cpg + j); }, a.blend);
          for (int64_t j = 0; j < cpg; ++j) co.sub[u0 + j] = co.scale[u0 + j] = co.shift[u0 + j] = 0.0f;
          ex_group[k++] = grp;
          continue;
        }
        const Normalizer st = normalizer(gm, a.eps);
        if (a.mean) a.mean[grp] = static_cast<float>(gm.mean);
        if (a.rstd) a.rstd[grp] = static_cast<float>(st.rstd);
        for (int64_t j = 0; j < cpg; ++j) {
          const int64_t ch = g * cpg + j;
          fold_affine(st, a.gamma_at(row + ch), a.beta_at(row + ch), a.blend, co, u0 + j);
        }
      }
    }
    unit_affine(c2, sh, a.x + off, a.y + off, co, a.n * C * S);
    for (int64_t q = 0; q < n_exact; ++q) {
      const GroupRuns gr(ex_group[q] / G, ex_group[q] % G, cpg, S, C);
      ex.scatter(q, 0, a.y, gr.runs);
    }
  });
}

void group_norm_backward_nhwc(const Context& ctx, const GroupNormBackward& a, const SampleRows& row_of) {
  const int64_t C = a.c, G = a.groups, cpg = C / G, S = a.s, units = a.n * C;
  const bool saved = a.rstd != nullptr;
  Scratch<double> share(2 * units);
  double* share_g = share.data();
  double* share_b = share_g + units;
  by_slabs(ctx, a.n, C, S, [&](const Context& c2, int64_t n0, int64_t n1) {
    const Shape sh{n1 - n0, C, S, true};
    const int64_t su = sh.units(), off = n0 * C * S;
    Scratch<CoMoments> cm(su);
    Scratch<float> mem(5 * su);
    Scratch<double> gam(cpg);
    float* p = mem.data();
    const GradCoef co{p, p + su, p + 2 * su, p + 3 * su, p + 4 * su};
    unit_co_moments(c2, sh, a.dy + off, a.x + off, cm.data());
    Scratch<bool> exact(sh.n * G);
    int64_t n_exact = 0;
    for (int64_t i = 0; i < sh.n; ++i) {
      for (int64_t g = 0; g < G; ++g) {
        const CoMoments* gc = cm.data() + i * C + g * cpg;
        const Moments gm = cpg == 1 ? group_x_moments_inline(gc, 1) : group_x_moments(gc, cpg);
        exact[i * G + g] =
            needs_exact(gm.m2, gm.count, gm.mean,
                        [&] { return all_zero(a.x, GroupRuns(n0 + i, g, cpg, S, C).runs); }) ||
            (saved && rstd_needs_exact(a.rstd[(n0 + i) * G + g]));
        n_exact += exact[i * G + g];
      }
    }
    if (cpg == 1 && n_exact == 0) {
      // As in the forward: instance norm on the float32 path, group_grads()
      // specialized to one unit per group.
      for (int64_t i = 0; i < sh.n; ++i) {
        const int64_t row = row_of(n0 + i) * C, u0 = i * C, grp0 = (n0 + i) * C;
        for (int64_t c = 0; c < C; ++c) {
          const double gam1 = a.gamma_at(row + c);
          const double r = saved ? static_cast<double>(a.rstd[grp0 + c]) : -1.0;
          group_grads_inline(cm.data() + u0 + c, &gam1, 1, r, a.eps, a.blend, co, u0 + c, share_g + grp0 + c,
                             share_b + grp0 + c);
        }
      }
      unit_backward_apply(c2, sh, a.dy + off, a.x + off, a.dx + off, co, a.n * C * S);
      return;
    }
    // As in the forward: exact groups on copies (dy, x; dx over the dy copy).
    Gathered ex(n_exact, cpg, S, 2);
    Scratch<int64_t> ex_group(n_exact);
    int64_t k = 0;
    for (int64_t i = 0; i < sh.n; ++i) {
      const int64_t row = row_of(n0 + i) * C;
      for (int64_t g = 0; g < G; ++g) {
        const int64_t u0 = i * C + g * cpg, grp = (n0 + i) * G + g;
        for (int64_t j = 0; j < cpg; ++j) gam[j] = a.gamma_at(row + g * cpg + j);
        const double r = saved ? static_cast<double>(a.rstd[grp]) : -1.0;
        if (exact[i * G + g]) {
          const GroupRuns gr(n0 + i, g, cpg, S, C);
          ex.gather(k, 0, a.dy, gr.runs);
          ex.gather(k, 1, a.x, gr.runs);
          exact_backward(ex.copy(k, 0), ex.copy(k, 1), ex.copy(k, 0), ex.local(ex.local_bases()), gam.data(), r,
                         a.eps, a.blend, share_g + n0 * C + u0, share_b + n0 * C + u0);
          for (int64_t j = 0; j < cpg; ++j) {
            co.dy_sub[u0 + j] = co.x_sub[u0 + j] = co.a[u0 + j] = co.b[u0 + j] = co.c[u0 + j] = 0.0f;
          }
          ex_group[k++] = grp;
          continue;
        }
        group_grads(cm.data() + u0, gam.data(), cpg, r, a.eps, a.blend, co, u0, share_g + n0 * C + u0,
                    share_b + n0 * C + u0);
      }
    }
    unit_backward_apply(c2, sh, a.dy + off, a.x + off, a.dx + off, co, a.n * C * S);
    for (int64_t q = 0; q < n_exact; ++q) {
      const GroupRuns gr(ex_group[q] / G, ex_group[q] % G, cpg, S, C);
      ex.scatter(q, 0, a.dx, gr.runs);
    }
  });
  reduce_rows(share_g, share_b, a.n, C, a.rows, row_of, a.dgamma, a.dbeta);
}

}  // namespace ops
}  // namespace instnorm
