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
#if defined(INSTNORM_VEC_LANE_LOOPS) && defined(__GNUC__) && !defined(__clang__)
#define INSTNORM_SUM_LOOP __attribute__((optimize("no-tree-loop-vectorize")))
#else
#define INSTNORM_SUM_LOOP
#endif

// x - p for a plane's pivot p. On SIMD Vecs as x + (-p), the same bits:
// x86 can fold the load of x into an add but not into a subtraction
// (whose memory operand is the subtrahend), a sixth of the instructions of
// the sum loops. The scalar Vec keeps x - p: GCC's SLP vectorizer left
// the sum loops mostly scalar with the negated form (2.4x the
// instructions).
struct Pivot {
#if defined(INSTNORM_VEC_LANE_LOOPS)
  explicit Pivot(float p) : v(V::set1(p)) {}
  V from(V x) const { return x - v; }
#else
  explicit Pivot(float p) : v(V::set1(-p)) {}
  V from(V x) const { return x + v; }
#endif
  V v;
};

// sum(d), sum(d^2) with d = x - p over x[0..n). Four chains of squares:
// M2's error grows with the chains' length when one lane holds an outlier.
INSTNORM_SUM_LOOP inline void block_squares(const float* x, int64_t n, float p, V* out) {
  const Pivot pv(p);
  V a0 = V::zero(), a1 = V::zero(), q0 = V::zero(), q1 = V::zero(), q2 = V::zero(), q3 = V::zero();
  int64_t i = 0;
  for (; i + 4 * W <= n; i += 4 * W) {
    const V d0 = pv.from(V::load(x + i)), d1 = pv.from(V::load(x + i + W));
    const V d2 = pv.from(V::load(x + i + 2 * W)), d3 = pv.from(V::load(x + i + 3 * W));
    a0 = a0 + (d0 + d2);
    a1 = a1 + (d1 + d3);
    q0 = fmadd(d0, d0, q0);
    q1 = fmadd(d1, d1, q1);
    q2 = fmadd(d2, d2, q2);
    q3 = fmadd(d3, d3, q3);
  }
  for (; i + W <= n; i += W) {
    const V d0 = pv.from(V::load(x + i));
    a0 = a0 + d0;
    q0 = fmadd(d0, d0, q0);
  }
  if (i < n) {
    const V d1 = pv.from(V::load_partial(x + i, static_cast<int>(n - i), p));
    a1 = a1 + d1;
    q1 = fmadd(d1, d1, q1);
  }
  out[0] = a0 + a1;
  out[1] = (q0 + q1) + (q2 + q3);
}

// With d = x - px and e = dy - pg over [0..n): sum(d), sum(e), sum(d^2),
// sum(e^2) (to check dy's pivot) and sum(d e).
INSTNORM_SUM_LOOP inline void block_co_sums(const float* x, const float* dy, int64_t n, float px, float pg,
                                            V* out) {
  const Pivot pxv(px), pgv(pg);
  // Eight chains (the plain sums take pairs), so that AVX2's 16 registers
  // hold them with the pivots and the step's four values.
  V sd0 = V::zero(), se0 = V::zero(), dd0 = V::zero(), ee0 = V::zero(), de0 = V::zero();
  V sd1 = V::zero(), se1 = V::zero(), dd1 = V::zero(), ee1 = V::zero(), de1 = V::zero();
  int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    const V d0 = pxv.from(V::load(x + i)), e0 = pgv.from(V::load(dy + i));
    const V d1 = pxv.from(V::load(x + i + W)), e1 = pgv.from(V::load(dy + i + W));
    sd0 = sd0 + (d0 + d1);
    se0 = se0 + (e0 + e1);
    dd0 = fmadd(d0, d0, dd0);
    ee0 = fmadd(e0, e0, ee0);
    de0 = fmadd(d0, e0, de0);
    dd1 = fmadd(d1, d1, dd1);
    ee1 = fmadd(e1, e1, ee1);
    de1 = fmadd(d1, e1, de1);
  }
  if (i + W <= n) {
    const V d0 = pxv.from(V::load(x + i)), e0 = pgv.from(V::load(dy + i));
    sd0 = sd0 + d0;
    se0 = se0 + e0;
    dd0 = fmadd(d0, d0, dd0);
    ee0 = fmadd(e0, e0, ee0);
    de0 = fmadd(d0, e0, de0);
    i += W;
  }
  if (i < n) {
    const int r = static_cast<int>(n - i);
    const V d1 = pxv.from(V::load_partial(x + i, r, px)), e1 = pgv.from(V::load_partial(dy + i, r, pg));
    sd1 = sd1 + d1;
    se1 = se1 + e1;
    dd1 = fmadd(d1, d1, dd1);
    ee1 = fmadd(e1, e1, ee1);
    de1 = fmadd(d1, e1, de1);
  }
  out[0] = sd0 + sd1;
  out[1] = se0 + se1;
  out[2] = dd0 + dd1;
  out[3] = ee0 + ee1;
  out[4] = de0 + de1;
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

// Vectors in a plane's pivot sample (kPivotVectors * W floats).
constexpr int kPivotVectors = 8;

// The pivots of a batch's planes (plane j at xb + j*len, j < nb): x[0] +
// mean(x - x[0]) over a sample of each plane, all planes reduced at once.
// The sample is the whole plane up to kPivotVectors vectors, else that
// many vectors spread from its first to its last (a smooth plane, like most
// feature maps, is not represented by its first row alone; an off pivot
// costs a second pass). Exact for a constant plane (every difference is 0).
INSTNORM_SUM_LOOP inline V sampled_pivots(const float* xb, int64_t len, int nb) {
  const bool whole = len <= kPivotVectors * W;
  V rows[W];
  Lanes x0;
  for (int j = 0; j < W; ++j) {
    if (j >= nb) {
      x0.v[j] = 0.0f;
      rows[j] = V::zero();
      continue;
    }
    const float* xp = xb + j * len;
    const float f = x0.v[j] = xp[0];
    const Pivot nf(f);
    V a0 = V::zero(), a1 = V::zero();
    if (whole) {
      int64_t i = 0;
      for (; i + 2 * W <= len; i += 2 * W) {
        a0 = a0 + nf.from(V::load(xp + i));
        a1 = a1 + nf.from(V::load(xp + i + W));
      }
      if (i + W <= len) {
        a0 = a0 + nf.from(V::load(xp + i));
        i += W;
      }
      if (i < len) a1 = a1 + nf.from(V::load_partial(xp + i, static_cast<int>(len - i), f));
    } else {
      const int64_t last = len - W;
      for (int k = 0; k < kPivotVectors; k += 2) {
        a0 = a0 + nf.from(V::load(xp + k * last / (kPivotVectors - 1)));
        a1 = a1 + nf.from(V::load(xp + (k + 1) * last / (kPivotVectors - 1)));
      }
    }
    rows[j] = a0 + a1;
  }
  const float count = static_cast<float>(whole ? len : kPivotVectors * W);
  return V::load(x0.v) + transpose_sum(rows) / V::set1(count);
}

// Lanes whose pivot was more than a standard deviation from the mean:
// sum(d) lo = len (mean - pivot)^2 > M2, where the cancellation in
// M2 = sum(d^2) - sum(d) lo would amplify fp32 rounding more than 2x (and
// NaN lanes).
inline V::Mask pivot_off(V sd, V lo, V m2) { return ~le(sd * lo, m2); }

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
  // (NaN fails every comparison: flagged.)
  const V::Mask ok = ge(var, V::set1(kVarMin)) & le(var, V::set1(kVarMax)) & le(ve, V::set1(kFloatMax));
  const V bl = V::set1(f.blend);
  const V mu = p + lo;
  // y = (x - p) scale + shift: scale = g r + blend, and with x - mean =
  // (x - p) - lo, shift = b + blend mean - lo scale (fold.h's fold_affine).
  const V sc = fmadd(load_or(f.g ? f.g + p0 : nullptr, nb, 1.0f), r, bl);
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
  const V::Mask ok = ge(var, V::set1(kVarMin)) & le(var, V::set1(kVarMax)) & ge(r, V::set1(kRstdMin)) &
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
