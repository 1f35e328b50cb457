// Plane batches: many short planes (instance norm of small feature maps,
// 8x8 to 32x32) normalized W at a time, statistics to outputs in one call.
// The per-plane kernels (plane_kernels.h) end every plane with horizontal
// sums in double and leave the folding (sqrt, divisions) to the ops layer,
// a long scalar chain per plane; here each plane's sums stay vectors until
// transpose_sum reduces W planes at once, and the scalars of W planes
// (pivot, mean correction, M2, rstd, coefficients) are computed as one
// vector, in fp32.
//
// Accuracy (the same design as moments(), without its double tail):
// - pass 1 sums x - x[0] (x[0] is exact for a constant plane, and within a
//   plane's spread of its mean) and gives the pivot p = x[0] + sum/len,
//   within a few ulps of the plane's spread from the mean;
// - pass 2 sums d = x - p and d^2 (x - p is exact near the mean, so an
//   offset of 1e4 costs nothing): lo = sum(d)/len corrects the mean and
//   M2 = sum(d^2) - sum(d) lo barely cancels; mean = p + lo, and the apply
//   works on x - p with lo folded into its constant term, as fold.h does
//   with its split mean;
// - a plane longer than kBatchBlock is summed block by block, each block's
//   vectors folded in with their rounding error kept (TwoSum), so accuracy
//   does not degrade with length.
// Results of a plane depend on its data, len and its own coefficients only:
// lanes never mix (transpose_sum's order is the same for every position),
// so any split of the planes into calls gives the same bits.
//
// Planes outside the fp32 range (exact.h: M2 not finite or <= 0, variance
// outside [2^-112, 2^112], rstd outside [2^-56, 2^56]) are flagged and left
// untouched (no output written for them), for the op's exact path.
#pragma once
#include "kernel_common.h"

namespace instnorm {
namespace kernels {
namespace {

// exact.h's needs_exact / rstd_needs_exact bounds, as fp32 (all exact).
constexpr float kVarMin = 0x1p-112f, kVarMax = 0x1p112f;
constexpr float kRstdMin = 0x1p-56f, kRstdMax = 0x1p56f;
constexpr float kFloatMax = 0x1.fffffep127f;
// Floats per block: the fp32 sums of a block run in chains of at most 16
// terms per lane on every ISA (four accumulators of W lanes); longer
// planes fold their blocks with TwoSum.
constexpr int64_t kBatchBlock = 64 * W;

// ---- per-block sums, as vectors whose lanes add up to the block's sums ----

// The scalar Vec's operations are 8-lane loops that GCC's SLP vectorizer
// turns into SSE2 / Advanced SIMD. On these sum loops GCC's loop vectorizer
// got there first: it vectorized across 4 iterations of the loop (with
// de-interleaving shuffles), so a plane of fewer than 4 iterations (128
// floats) ran in its one-lane-at-a-time epilogue, 16 instructions per
// element. Off for these functions, on the scalar Vec only.
#if defined(INSTNORM_VEC_FLATTEN_STORE_LOOPS) && defined(__GNUC__) && !defined(__clang__)
#define INSTNORM_SUM_LOOP __attribute__((optimize("no-tree-loop-vectorize")))
#else
#define INSTNORM_SUM_LOOP
#endif

// sum(x - p) and sum(y - q) (ys may be null) over x[0..n). Tail lanes are
// filled with the pivot: they add exactly zero.
INSTNORM_SUM_LOOP inline void block_sum(const float* x, const float* ys, int64_t n, float p, float q, V* out) {
  const V pv = V::set1(p), qv = V::set1(q);
  V a0 = V::zero(), a1 = V::zero(), a2 = V::zero(), a3 = V::zero();
  V b0 = V::zero(), b1 = V::zero();
  int64_t i = 0;
  if (!ys) {
    for (; i + 4 * W <= n; i += 4 * W) {
      a0 = a0 + (V::load(x + i) - pv);
      a1 = a1 + (V::load(x + i + W) - pv);
      a2 = a2 + (V::load(x + i + 2 * W) - pv);
      a3 = a3 + (V::load(x + i + 3 * W) - pv);
    }
  } else {
    for (; i + 2 * W <= n; i += 2 * W) {
      a0 = a0 + (V::load(x + i) - pv);
      a1 = a1 + (V::load(x + i + W) - pv);
      b0 = b0 + (V::load(ys + i) - qv);
      b1 = b1 + (V::load(ys + i + W) - qv);
    }
  }
  for (; i + W <= n; i += W) {
    a2 = a2 + (V::load(x + i) - pv);
    if (ys) b0 = b0 + (V::load(ys + i) - qv);
  }
  if (i < n) {
    const int r = static_cast<int>(n - i);
    a3 = a3 + (V::load_partial(x + i, r, p) - pv);
    if (ys) b1 = b1 + (V::load_partial(ys + i, r, q) - qv);
  }
  out[0] = (a0 + a1) + (a2 + a3);
  if (ys) out[1] = b0 + b1;
}

// sum(d), sum(d^2) with d = x - p over x[0..n). Four chains of squares:
// M2's error grows with the chains' length when one lane holds an outlier.
INSTNORM_SUM_LOOP inline void block_squares(const float* x, int64_t n, float p, V* out) {
  const V pv = V::set1(p);
  V a0 = V::zero(), a1 = V::zero(), q0 = V::zero(), q1 = V::zero(), q2 = V::zero(), q3 = V::zero();
  int64_t i = 0;
  for (; i + 4 * W <= n; i += 4 * W) {
    const V d0 = V::load(x + i) - pv, d1 = V::load(x + i + W) - pv;
    const V d2 = V::load(x + i + 2 * W) - pv, d3 = V::load(x + i + 3 * W) - pv;
    a0 = a0 + (d0 + d2);
    a1 = a1 + (d1 + d3);
    q0 = fmadd(d0, d0, q0);
    q1 = fmadd(d1, d1, q1);
    q2 = fmadd(d2, d2, q2);
    q3 = fmadd(d3, d3, q3);
  }
  for (; i + W <= n; i += W) {
    const V d0 = V::load(x + i) - pv;
    a0 = a0 + d0;
    q0 = fmadd(d0, d0, q0);
  }
  if (i < n) {
    const V d1 = V::load_partial(x + i, static_cast<int>(n - i), p) - pv;
    a1 = a1 + d1;
    q1 = fmadd(d1, d1, q1);
  }
  out[0] = a0 + a1;
  out[1] = (q0 + q1) + (q2 + q3);
}

// With d = x - px and e = dy - pg over [0..n): sum(d), sum(e), sum(d^2),
// sum(d e).
INSTNORM_SUM_LOOP inline void block_co_sums(const float* x, const float* dy, int64_t n, float px, float pg, V* out) {
  const V pxv = V::set1(px), pgv = V::set1(pg);
  V sd0 = V::zero(), se0 = V::zero(), dd0 = V::zero(), de0 = V::zero();
  V sd1 = V::zero(), se1 = V::zero(), dd1 = V::zero(), de1 = V::zero();
  int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    const V d0 = V::load(x + i) - pxv, d1 = V::load(x + i + W) - pxv;
    const V e0 = V::load(dy + i) - pgv, e1 = V::load(dy + i + W) - pgv;
    sd0 = sd0 + d0;
    sd1 = sd1 + d1;
    se0 = se0 + e0;
    se1 = se1 + e1;
    dd0 = fmadd(d0, d0, dd0);
    dd1 = fmadd(d1, d1, dd1);
    de0 = fmadd(d0, e0, de0);
    de1 = fmadd(d1, e1, de1);
  }
  if (i + W <= n) {
    const V d0 = V::load(x + i) - pxv, e0 = V::load(dy + i) - pgv;
    sd0 = sd0 + d0;
    se0 = se0 + e0;
    dd0 = fmadd(d0, d0, dd0);
    de0 = fmadd(d0, e0, de0);
    i += W;
  }
  if (i < n) {
    const int r = static_cast<int>(n - i);
    const V d1 = V::load_partial(x + i, r, px) - pxv, e1 = V::load_partial(dy + i, r, pg) - pgv;
    sd1 = sd1 + d1;
    se1 = se1 + e1;
    dd1 = fmadd(d1, d1, dd1);
    de1 = fmadd(d1, e1, de1);
  }
  out[0] = sd0 + sd1;
  out[1] = se0 + se1;
  out[2] = dd0 + dd1;
  out[3] = de0 + de1;
}

// ---- a batch of up to W planes ----

// The K sums of each plane of a batch, row j for plane j, and (for planes
// longer than a block) their compensation terms.
template <int K>
struct BatchSums {
  V s[K][W];
  V c[K][W];
  bool compensated;

  explicit BatchSums(int64_t len) : compensated(len > kBatchBlock) {}

  // Plane j's sums: block(start, count, out[K]) over its blocks, folded
  // with TwoSum (Knuth) when there are several: s + c carries the sum to
  // about one rounding, however many blocks.
  template <class Block>
  void plane(int j, int64_t len, Block block) {
    if (!compensated) {
      V b[K];
      block(0, len, b);
      for (int k = 0; k < K; ++k) s[k][j] = b[k];
      return;
    }
    V acc[K], err[K];
    for (int k = 0; k < K; ++k) acc[k] = err[k] = V::zero();
    for (int64_t start = 0; start < len; start += kBatchBlock) {
      V b[K];
      block(start, min_i64(kBatchBlock, len - start), b);
      for (int k = 0; k < K; ++k) {
        const V t = acc[k] + b[k], bp = t - acc[k];
        err[k] = err[k] + ((acc[k] - (t - bp)) + (b[k] - bp));
        acc[k] = t;
      }
    }
    for (int k = 0; k < K; ++k) {
      s[k][j] = acc[k];
      c[k][j] = err[k];
    }
  }
  // Rows of planes the batch does not have: zero (their lanes are unused).
  void empty(int j) {
    for (int k = 0; k < K; ++k) s[k][j] = c[k][j] = V::zero();
  }
  // Lane j: plane j's sum k.
  V total(int k) const {
    return compensated ? transpose_sum(s[k]) + transpose_sum(c[k]) : transpose_sum(s[k]);
  }
};

// W floats, aligned for a vector load or store.
struct alignas(sizeof(V)) Lanes {
  float v[W];
  float operator[](int j) const { return v[j]; }
};

// exact[j] for the batch's planes: 1 where `ok` is false.
inline void store_flags(V::Mask ok, int nb, uint8_t* exact, Lanes& okf) {
  select(ok, V::set1(1.0f), V::zero()).store(okf.v);
  for (int j = 0; j < nb; ++j) exact[j] = okf[j] != 0.0f ? 0 : 1;
}

// Lanes [0, nb) of p, or `fill` (p may be null: all fill).
inline V load_or(const float* p, int nb, float fill) {
  return p ? V::load_partial(p, nb, fill) : V::set1(fill);
}

// y = g[p] * xhat + b[p] + blend * x over `planes` runs of `len` floats,
// each normalized on its own (see microkernels.def for the contract).
void plane_batch_forward(const float* x, float* y, int64_t planes, int64_t len, const float* g,
                         const float* b, float blend, float eps, float* mean, float* rstd,
                         uint8_t* exact) {
  const V n = V::set1(static_cast<float>(len));
  for (int64_t p0 = 0; p0 < planes; p0 += W) {
    const int nb = static_cast<int>(min_i64(W, planes - p0));
    const float* xb = x + p0 * len;
    BatchSums<1> first_sums(len);
    BatchSums<2> sums(len);
    Lanes first, piv, scale, shift, okf;
    // Pass 1: the pivot, x[0] + mean(x - x[0]).
    for (int j = 0; j < W; ++j) {
      if (j >= nb) {
        first.v[j] = 0.0f;
        first_sums.empty(j);
        continue;
      }
      const float* xp = xb + j * len;
      const float x0 = first.v[j] = xp[0];
      first_sums.plane(j, len, [&](int64_t s, int64_t m, V* o) { block_sum(xp + s, nullptr, m, x0, 0.0f, o); });
    }
    const V p = V::load(first.v) + first_sums.total(0) / n;
    p.store(piv.v);
    // Pass 2: centred sums around the pivot.
    for (int j = 0; j < W; ++j) {
      if (j >= nb) {
        sums.empty(j);
        continue;
      }
      const float* xp = xb + j * len;
      const float pj = piv[j];
      sums.plane(j, len, [&](int64_t s, int64_t m, V* o) { block_squares(xp + s, m, pj, o); });
    }
    const V sd = sums.total(0), sdd = sums.total(1);
    const V lo = sd / n;
    const V var = (sdd - sd * lo) / n;
    const V ve = var + V::set1(eps);
    const V r = V::set1(1.0f) / sqrt(ve);
    // (NaN fails every comparison: flagged.)
    const V::Mask ok = ge(var, V::set1(kVarMin)) & le(var, V::set1(kVarMax)) & le(ve, V::set1(kFloatMax));
    const V bl = V::set1(blend);
    const V mu = p + lo;
    // y = (x - p) scale + shift: scale = g r + blend, and with x - mean =
    // (x - p) - lo, shift = b + blend mean - lo scale (fold.h's fold_affine).
    const V sc = fmadd(load_or(g ? g + p0 : nullptr, nb, 1.0f), r, bl);
    const V sh = fmadd(-lo, sc, fmadd(bl, mu, load_or(b ? b + p0 : nullptr, nb, 0.0f)));
    sc.store(scale.v);
    sh.store(shift.v);
    const V::Mask write = ok & V::Mask::first_n(nb);
    if (mean) mu.store_masked(mean + p0, write);
    if (rstd) r.store_masked(rstd + p0, write);
    store_flags(ok, nb, exact + p0, okf);
    // Pass 3: the outputs of the planes not flagged.
    for (int j = 0; j < nb; ++j) {
      if (okf[j] == 0.0f) continue;
      const float* xp = xb + j * len;
      const float pj = piv[j];
      const V pv = V::set1(pj), a = V::set1(scale[j]), c = V::set1(shift[j]);
      elementwise(
          y + (p0 + j) * len, len, false, [&](int64_t i) { return fmadd(V::load(xp + i) - pv, a, c); },
          [&](int64_t i, int m) { return fmadd(V::load_partial(xp + i, m, pj) - pv, a, c); });
    }
  }
}

// dx over `planes` runs of `len` floats, each its own group (instance
// norm's backward; see microkernels.def for the contract). fold.cc's
// group_grads for one channel (its `c` term and mean-offset correction are
// then exactly 0): with mu, r and C = sum((x - mu)(dy - mean_dy)),
//   dx = r g (dy - mean_dy) - r^3 g C / len (x - mu) + blend dy,
// computed as a (dy - pg) + bb (x - px) + c around the pivots.
void plane_batch_backward(const float* dy, const float* x, float* dx, int64_t planes, int64_t len,
                          const float* g, const float* rstd, float blend, float eps, double* share_g,
                          double* share_b, uint8_t* exact) {
  const V n = V::set1(static_cast<float>(len));
  const double nd = static_cast<double>(len);
  for (int64_t p0 = 0; p0 < planes; p0 += W) {
    const int nb = static_cast<int>(min_i64(W, planes - p0));
    const float* xb = x + p0 * len;
    const float* gb = dy + p0 * len;
    BatchSums<2> first_sums(len);
    BatchSums<4> sums(len);
    Lanes fx, fg, px, pg, se, rr, cc, av, bv, cv, okf;
    // Pass 1: the pivots of x and dy.
    for (int j = 0; j < W; ++j) {
      if (j >= nb) {
        fx.v[j] = fg.v[j] = 0.0f;
        first_sums.empty(j);
        continue;
      }
      const float* xp = xb + j * len;
      const float* gp = gb + j * len;
      const float x0 = fx.v[j] = xp[0], g0 = fg.v[j] = gp[0];
      first_sums.plane(j, len, [&](int64_t s, int64_t m, V* o) { block_sum(xp + s, gp + s, m, x0, g0, o); });
    }
    const V pxv = V::load(fx.v) + first_sums.total(0) / n;
    const V pgv = V::load(fg.v) + first_sums.total(1) / n;
    pxv.store(px.v);
    pgv.store(pg.v);
    // Pass 2: centred sums and co-moment.
    for (int j = 0; j < W; ++j) {
      if (j >= nb) {
        sums.empty(j);
        continue;
      }
      const float* xp = xb + j * len;
      const float* gp = gb + j * len;
      const float pxj = px[j], pgj = pg[j];
      sums.plane(j, len, [&](int64_t s, int64_t m, V* o) { block_co_sums(xp + s, gp + s, m, pxj, pgj, o); });
    }
    const V sd = sums.total(0), sev = sums.total(1), sdd = sums.total(2), sde = sums.total(3);
    const V lx = sd / n, lg = sev / n;
    const V var = (sdd - sd * lx) / n;
    const V cxy = sde - sd * lg;  // sum((x - mean_x)(dy - mean_dy))
    const V r = rstd ? V::load_partial(rstd + p0, nb, 1.0f) : V::set1(1.0f) / sqrt(var + V::set1(eps));
    const V::Mask ok = ge(var, V::set1(kVarMin)) & le(var, V::set1(kVarMax)) & ge(r, V::set1(kRstdMin)) &
                       le(r, V::set1(kRstdMax));
    const V rg = r * load_or(g ? g + p0 : nullptr, nb, 1.0f);
    const V bl = V::set1(blend);
    // r^3 g C / len in an order that overflows only when the result does
    // (r^2 <= 2^112; r g C / len is about g times dy's spread).
    const V bb = -((((rg * cxy) / n) * r) * r);
    const V a = rg + bl;
    const V c = (bl * pgv - rg * lg) - bb * lx;
    a.store(av.v);
    bb.store(bv.v);
    c.store(cv.v);
    sev.store(se.v);
    r.store(rr.v);
    cxy.store(cc.v);
    store_flags(ok, nb, exact + p0, okf);
    for (int j = 0; j < nb; ++j) {
      if (okf[j] == 0.0f) continue;
      // Shares in double: r C, and sum(dy) = len pg + sum(dy - pg).
      share_g[p0 + j] = static_cast<double>(rr[j]) * static_cast<double>(cc[j]);
      share_b[p0 + j] = nd * static_cast<double>(pg[j]) + static_cast<double>(se[j]);
      const float* xp = xb + j * len;
      const float* gp = gb + j * len;
      const float pxj = px[j], pgj = pg[j];
      const V xs = V::set1(pxj), gs = V::set1(pgj);
      const V aj = V::set1(av[j]), bj = V::set1(bv[j]), cj = V::set1(cv[j]);
      elementwise(
          dx + (p0 + j) * len, len, false,
          [&](int64_t i) { return fmadd(aj, V::load(gp + i) - gs, fmadd(bj, V::load(xp + i) - xs, cj)); },
          [&](int64_t i, int m) {
            const V e = V::load_partial(gp + i, m, pgj) - gs;
            const V d = V::load_partial(xp + i, m, pxj) - xs;
            return fmadd(aj, e, fmadd(bj, d, cj));
          });
    }
  }
}

}  // namespace
}  // namespace kernels
}  // namespace instnorm
