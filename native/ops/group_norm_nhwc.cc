// Group norm channels-last: x is [N, S, C]; group g of sample n is columns
// [g*cpg, (g+1)*cpg) of that sample's S rows. Statistics come per unit
// (n, c) from the column kernels, are merged per group, folded into
// per-unit coefficients, and applied. Samples of up to kSlabBytes are
// handled whole, several per task, so the apply pass re-reads them from the
// cache of the core that just read them.
#include "../runtime/thread_pool.h"
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

void group_norm_forward_nhwc(const Context& ctx, const GroupNormForward& a, const SampleRows& row_of) {
  const int64_t C = a.c, G = a.groups, cpg = C / G, S = a.s;
  by_slabs(ctx, a.n, C, S, [&](const Context& c2, int64_t n0, int64_t n1) {
    const Shape sh{n1 - n0, C, S, true};
    const int64_t units = sh.units(), off = n0 * C * S;
    Scratch<Moments> mo(units);
    Scratch<float> mem(3 * units);
    const AffineCoef co{mem.data(), mem.data() + units, mem.data() + 2 * units};
    unit_moments(c2, sh, a.x + off, mo.data());
    for (int64_t i = 0; i < sh.n; ++i) {
      const int64_t row = row_of(n0 + i) * C;
      for (int64_t g = 0; g < G; ++g) {
        const int64_t u0 = i * C + g * cpg;
        Moments gm{0.0, 0.0, 0.0};
        for (int64_t j = 0; j < cpg; ++j) gm = merge_moments(gm, mo[u0 + j]);
        const Normalizer st = normalizer(gm, a.eps);
        const int64_t grp = (n0 + i) * G + g;
        if (a.mean) a.mean[grp] = static_cast<float>(gm.mean);
        if (a.rstd) a.rstd[grp] = static_cast<float>(st.rstd);
        for (int64_t j = 0; j < cpg; ++j) {
          const int64_t ch = g * cpg + j;
          fold_affine(st, a.gamma_at(row + ch), a.beta_at(row + ch), a.blend, co, u0 + j);
        }
      }
    }
    unit_affine(c2, sh, a.x + off, a.y + off, co);
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
    for (int64_t i = 0; i < sh.n; ++i) {
      const int64_t row = row_of(n0 + i) * C;
      for (int64_t g = 0; g < G; ++g) {
        const int64_t u0 = i * C + g * cpg, grp = (n0 + i) * G + g;
        for (int64_t j = 0; j < cpg; ++j) gam[j] = a.gamma_at(row + g * cpg + j);
        group_grads(cm.data() + u0, gam.data(), cpg, saved ? static_cast<double>(a.rstd[grp]) : -1.0, a.eps,
                    a.blend, co, u0, share_g + n0 * C + u0, share_b + n0 * C + u0);
      }
    }
    unit_backward_apply(c2, sh, a.dy + off, a.x + off, a.dx + off, co);
  });
  reduce_rows(share_g, share_b, a.n, C, a.rows, row_of, a.dgamma, a.dbeta);
}

}  // namespace ops
}  // namespace instnorm
