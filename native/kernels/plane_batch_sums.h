// The statistics machinery of the plane-batch kernels (plane_batch.h):
// pivots for W planes at once, per-block vector sums, and the rows that
// transpose_sum reduces. See plane_batch.h for the accuracy design.
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
  // Eight chains in the main loop (the plain sums take pairs), so that
  // AVX2's 16 registers hold them with the pivots and the step's four
  // values; sd1 and se1 only take the tail.
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

// Whether every element of x[0..n) is +-0 (NaN is not).
inline bool all_zero(const float* x, int64_t n) {
  int64_t i = 0;
  for (; i + W <= n; i += W) {
    if (any(ne(V::load(x + i), V::zero()))) return false;
  }
  return i == n || !any(ne(V::load_partial(x + i, static_cast<int>(n - i), 0.0f), V::zero()));
}

// The constant planes of a batch (plane j at xb + j*len) that stay on the
// fp32 path, as exact.h's needs_exact decides for M2 = 0: every deviation
// squared to 0 (sdd), and the mean is not tiny (deviations from a mean of
// at least 2^-48 cannot underflow when squared, so they were all 0) or
// every element is zero (zero padding; checked only for those planes).
// The rest with M2 = 0 are for the exact path.
inline V::Mask constant_planes(const float* xb, int64_t len, int nb, V sdd, V mean) {
  const V::Mask flat = eq(sdd, V::zero()) & V::Mask::first_n(nb);
  const V::Mask big = ge(abs(mean), V::set1(0x1p-48f));
  const V::Mask check = flat & ~big;
  if (!any(check)) return flat & big;
  Lanes c, zero;
  select(check, V::set1(1.0f), V::zero()).store(c.v);
  for (int j = 0; j < W; ++j) zero.v[j] = c[j] != 0.0f && all_zero(xb + j * len, len) ? 1.0f : 0.0f;
  return flat & (big | gt(V::load(zero.v), V::zero()));
}

// Lanes whose pivot was more than a standard deviation from the mean:
// sum(d) lo = len (mean - pivot)^2 > M2, where the cancellation in
// M2 = sum(d^2) - sum(d) lo would amplify fp32 rounding more than 2x (and
// NaN lanes).
inline V::Mask pivot_off(V sd, V lo, V m2) { return ~le(sd * lo, m2); }

}  // namespace
}  // namespace kernels
}  // namespace instnorm
