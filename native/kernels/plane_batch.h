// Plane batches: many short planes (instance norm of small feature maps,
// 8x8 to 32x32) normalized W at a time, statistics to outputs in one call.
// The per-plane kernels (plane_kernels.h) end every plane with horizontal
// sums in double and leave the folding (sqrt, divisions) to the ops layer,
// a long scalar chain per plane; here each plane's sums stay vectors until
// transpose_sum reduces W planes at once, and the scalars of W planes
// (pivot, mean correction, M2, rstd, coefficients) are computed as one
// vector, in fp32.
//
// Accuracy (moments()'s design, without its double tail):
// - the pivot p of a plane is x[0] + mean(x - x[0]) over a sample of it
//   (the whole plane up to 8W floats, else 8 spread vectors), for all
//   planes of a batch at once: exact for a constant plane, and usually
//   within a fraction of a standard deviation of the mean;
// - one pass sums d = x - p and d^2 (x - p is exact near the mean, so an
//   offset of 1e4 costs nothing): lo = sum(d)/len corrects the mean and
//   M2 = sum(d^2) - sum(d) lo. A plane whose pivot was more than a
//   standard deviation off (the cancellation would amplify rounding more
//   than 2x) is summed again around p + lo, as moments() redoes a block;
//   mean = p + lo, and the apply works on x - p with lo folded into its
//   constant term, as fold.h does with its split mean;
// - sums run in chains of at most 16 terms per lane; a plane longer than
//   kBatchBlock is summed block by block, each block's vectors folded in
//   with their rounding error kept (TwoSum), so accuracy does not degrade
//   with length.
// Results of a plane depend on its data, len and its own coefficients only:
// lanes never mix (transpose_sum's order is the same for every position,
// the redo is decided lane by lane), so any split of the planes into calls
// gives the same bits.
//
// Planes outside the fp32 range (exact.h's needs_exact: M2 not finite, or
// 0 but not a constant plane the fp32 path keeps, or variance outside
// [2^-112, 2^112]; rstd outside [2^-56, 2^56]) are flagged and left
// untouched (no output written for them), for the op's exact path.
#pragma once
#include "plane_batch_sums.h"

namespace instnorm {
namespace kernels {
namespace {

// Each kernel runs batch by batch: the statistics of W planes, then their
// outputs, while the batch is in L1/L2. (Taking batch k+1's statistics
// before batch k's outputs, so the scalar chain of one overlaps the apply
// pass of the other, measured no faster.)

// ---- forward ----

struct ForwardCall {
  const float* x;
  float* y;
  int64_t planes, len;
  const float* g;
  const float* b;
  float blend, eps;
  float* mean;
  float* rstd;
  uint8_t* exact;
};

// A batch's planes [p0, p0 + nb) and what its apply pass needs.
struct ForwardBatch {
  int64_t p0;
  int nb;
  Lanes piv, scale, shift, ok;
};

// The statistics and coefficients of planes [p0, p0 + W) (those that
// exist); writes their mean, rstd and exact flags.
inline void forward_stats(const ForwardCall& f, int64_t p0, ForwardBatch& fb) {
  const int64_t len = f.len;
  const int nb = static_cast<int>(min_i64(W, f.planes - p0));
  const float* xb = f.x + p0 * len;
  const V n = V::set1(static_cast<float>(len));
  fb.p0 = p0;
  fb.nb = nb;
  BatchSums<2> sums(len);
  auto sum_plane = [&](int j) {
    const float* xp = xb + j * len;
    const float pj = fb.piv[j];
    sums.plane(j, len, [&](int64_t s, int64_t m, V* o) { block_squares(xp + s, m, pj, o); });
  };
  V p = sampled_pivots(xb, len, nb);
  p.store(fb.piv.v);
  for (int j = 0; j < W; ++j) {
    if (j < nb) {
      sum_plane(j);
    } else {
      sums.empty(j);
    }
  }
  V sd = sums.total(0), sdd = sums.total(1);
  V lo = sd / n;
  const V::Mask redo = pivot_off(sd, lo, sdd - sd * lo) & V::Mask::first_n(nb);
  if (any(redo)) {  // around the mean just found, the planes whose pivot was off
    Lanes again;
    p = select(redo, p + lo, p);
    p.store(fb.piv.v);
    select(redo, V::set1(1.0f), V::zero()).store(again.v);
    for (int j = 0; j < nb; ++j) {
      if (again[j] != 0.0f) sum_plane(j);
    }
    sd = sums.total(0);
    sdd = sums.total(1);
    lo = sd / n;
  }
  const V var = (sdd - sd * lo) / n;
  const V ve = var + V::set1(f.eps);
  const V r = V::set1(1.0f) / sqrt(ve);
  const V mu = p + lo;
  const V::Mask constant = constant_planes(xb, len, nb, sdd, mu);
  // (NaN fails every comparison: flagged.)
  const V::Mask ok =
      (ge(var, V::set1(kVarMin)) & le(var, V::set1(kVarMax)) & le(ve, V::set1(kFloatMax))) | constant;
  const V bl = V::set1(f.blend);
  // y = (x - p) scale + shift: scale = g r + blend, and with x - mean =
  // (x - p) - lo, shift = b + blend mean - lo scale (fold.h's fold_affine).
  // A constant plane has xhat = 0 for every eps (fold_affine's rule, also
  // where rstd is infinite, eps = 0): scale = blend, and lo = 0.
  const V sc = select(constant, bl, fmadd(load_or(f.g ? f.g + p0 : nullptr, nb, 1.0f), r, bl));
  const V sh = fmadd(-lo, sc, fmadd(bl, mu, load_or(f.b ? f.b + p0 : nullptr, nb, 0.0f)));
  sc.store(fb.scale.v);
  sh.store(fb.shift.v);
  const V::Mask write = ok & V::Mask::first_n(nb);
  if (f.mean) mu.store_masked(f.mean + p0, write);
  if (f.rstd) r.store_masked(f.rstd + p0, write);
  store_flags(ok, nb, f.exact + p0, fb.ok);
}

// The outputs of a batch's planes not flagged.
inline void forward_apply(const ForwardCall& f, const ForwardBatch& fb) {
  const int64_t len = f.len;
  for (int j = 0; j < fb.nb; ++j) {
    if (fb.ok[j] == 0.0f) continue;
    const float* xp = f.x + (fb.p0 + j) * len;
    const float pj = fb.piv[j];
    const Pivot pv(pj);
    const V a = V::set1(fb.scale[j]), c = V::set1(fb.shift[j]);
    elementwise(
        f.y + (fb.p0 + j) * len, len, false, [&](int64_t i) { return fmadd(pv.from(V::load(xp + i)), a, c); },
        [&](int64_t i, int m) { return fmadd(pv.from(V::load_partial(xp + i, m, pj)), a, c); });
  }
}

// y = g[p] * xhat + b[p] + blend * x over `planes` runs of `len` floats,
// each normalized on its own (see microkernels.def for the contract).
void plane_batch_forward(const float* x, float* y, int64_t planes, int64_t len, const float* g,
                         const float* b, float blend, float eps, float* mean, float* rstd,
                         uint8_t* exact) {
  const ForwardCall f{x, y, planes, len, g, b, blend, eps, mean, rstd, exact};
  ForwardBatch fb;
  for (int64_t p0 = 0; p0 < planes; p0 += W) {
    forward_stats(f, p0, fb);
    forward_apply(f, fb);
  }
}

// ---- backward ----

struct BackwardCall {
  const float* dy;
  const float* x;
  float* dx;
  int64_t planes, len;
  const float* g;
  const float* rstd;
  float blend, eps;
  double* share_g;
  double* share_b;
  uint8_t* exact;
};

struct BackwardBatch {
  int64_t p0;
  int nb;
  Lanes px, pg, a, b, c, ok;
};

// fold.cc's group_grads for one channel (its `c` term and mean-offset
// correction are then exactly 0): with mu, r and C = sum((x - mu)(dy -
// mean_dy)), dx = r g (dy - mean_dy) - r^3 g C / len (x - mu) + blend dy,
// computed as a (dy - pg) + b (x - px) + c around the pivots. Writes the
// batch's shares and exact flags.
inline void backward_stats(const BackwardCall& f, int64_t p0, BackwardBatch& bb) {
  const int64_t len = f.len;
  const int nb = static_cast<int>(min_i64(W, f.planes - p0));
  const float* xb = f.x + p0 * len;
  const float* gb = f.dy + p0 * len;
  const V n = V::set1(static_cast<float>(len));
  bb.p0 = p0;
  bb.nb = nb;
  BatchSums<5> sums(len);
  auto sum_plane = [&](int j) {
    const float* xp = xb + j * len;
    const float* gp = gb + j * len;
    const float pxj = bb.px[j], pgj = bb.pg[j];
    sums.plane(j, len, [&](int64_t s, int64_t m, V* o) { block_co_sums(xp + s, gp + s, m, pxj, pgj, o); });
  };
  V pxv = sampled_pivots(xb, len, nb), pgv = sampled_pivots(gb, len, nb);
  pxv.store(bb.px.v);
  pgv.store(bb.pg.v);
  for (int j = 0; j < W; ++j) {
    if (j < nb) {
      sum_plane(j);
    } else {
      sums.empty(j);
    }
  }
  V sd = sums.total(0), sev = sums.total(1);
  V lx = sd / n, lg = sev / n;
  const V::Mask redo = (pivot_off(sd, lx, sums.total(2) - sd * lx) | pivot_off(sev, lg, sums.total(3) - sev * lg)) &
                       V::Mask::first_n(nb);
  if (any(redo)) {  // around the means just found, the planes whose pivots were off
    Lanes again;
    pxv = select(redo, pxv + lx, pxv);
    pgv = select(redo, pgv + lg, pgv);
    pxv.store(bb.px.v);
    pgv.store(bb.pg.v);
    select(redo, V::set1(1.0f), V::zero()).store(again.v);
    for (int j = 0; j < nb; ++j) {
      if (again[j] != 0.0f) sum_plane(j);
    }
    sd = sums.total(0);
    sev = sums.total(1);
    lx = sd / n;
    lg = sev / n;
  }
  const V sdd = sums.total(2), sde = sums.total(4);
  const V var = (sdd - sd * lx) / n;
  const V cxy = sde - sd * lg;  // sum((x - mean_x)(dy - mean_dy))
  const V r = f.rstd ? V::load_partial(f.rstd + p0, nb, 1.0f) : V::set1(1.0f) / sqrt(var + V::set1(f.eps));
  // A constant plane (C = 0) gets dx = r g (dy - mean_dy) + blend dy from
  // the same formulas, as group_grads gives it.
  const V::Mask in_range = ge(var, V::set1(kVarMin)) & le(var, V::set1(kVarMax));
  const V::Mask ok = (in_range | constant_planes(xb, len, nb, sdd, pxv + lx)) & ge(r, V::set1(kRstdMin)) &
                     le(r, V::set1(kRstdMax));
  const V rg = r * load_or(f.g ? f.g + p0 : nullptr, nb, 1.0f);
  const V bl = V::set1(f.blend);
  // r^3 g C / len in an order that overflows only when the result does
  // (r^2 <= 2^112; r g C / len is about g times dy's spread).
  const V kb = -((((rg * cxy) / n) * r) * r);
  (rg + bl).store(bb.a.v);
  kb.store(bb.b.v);
  ((bl * pgv - rg * lg) - kb * lx).store(bb.c.v);
  store_flags(ok, nb, f.exact + p0, bb.ok);
  // Shares in double: r C, and sum(dy) = len pg + sum(dy - pg).
  Lanes se, rr, cc;
  sev.store(se.v);
  r.store(rr.v);
  cxy.store(cc.v);
  const double nd = static_cast<double>(len);
  for (int j = 0; j < nb; ++j) {
    if (bb.ok[j] == 0.0f) continue;
    f.share_g[p0 + j] = static_cast<double>(rr[j]) * static_cast<double>(cc[j]);
    f.share_b[p0 + j] = nd * static_cast<double>(bb.pg[j]) + static_cast<double>(se[j]);
  }
}

inline void backward_apply(const BackwardCall& f, const BackwardBatch& bb) {
  const int64_t len = f.len;
  for (int j = 0; j < bb.nb; ++j) {
    if (bb.ok[j] == 0.0f) continue;
    const int64_t o = (bb.p0 + j) * len;
    const float* xp = f.x + o;
    const float* gp = f.dy + o;
    const float pxj = bb.px[j], pgj = bb.pg[j];
    const Pivot xs(pxj), gs(pgj);
    const V aj = V::set1(bb.a[j]), bj = V::set1(bb.b[j]), cj = V::set1(bb.c[j]);
    elementwise(
        f.dx + o, len, false,
        [&](int64_t i) { return fmadd(aj, gs.from(V::load(gp + i)), fmadd(bj, xs.from(V::load(xp + i)), cj)); },
        [&](int64_t i, int m) {
          const V e = gs.from(V::load_partial(gp + i, m, pgj));
          const V d = xs.from(V::load_partial(xp + i, m, pxj));
          return fmadd(aj, e, fmadd(bj, d, cj));
        });
  }
}

// dx over `planes` runs of `len` floats, each its own group (instance
// norm's backward; see microkernels.def for the contract).
void plane_batch_backward(const float* dy, const float* x, float* dx, int64_t planes, int64_t len,
                          const float* g, const float* rstd, float blend, float eps, double* share_g,
                          double* share_b, uint8_t* exact) {
  const BackwardCall f{dy, x, dx, planes, len, g, rstd, blend, eps, share_g, share_b, exact};
  BackwardBatch bb;
  for (int64_t p0 = 0; p0 < planes; p0 += W) {
    backward_stats(f, p0, bb);
    backward_apply(f, bb);
  }
}

}  // namespace
}  // namespace kernels
}  // namespace instnorm
