// The microkernels, written once over a vector type `V` (see vec/). Each
// ISA's .cc file includes this after defining INSTNORM_VEC to its vector
// type and INSTNORM_TABLE_NAME to its table accessor. Everything here has
// internal linkage (anonymous namespace): copies compiled with different ISA
// flags can never be merged by the linker, and no standard-library template
// is used for the same reason.
//
// Accuracy design (see README "Numerics"):
// - Statistics are taken over blocks of kStatBlock floats, as sums of
//   d = x - pivot and d*d with a pivot near the block mean (see moments()),
//   so fp32 partial sums only ever hold short runs of centred values, and
//   sum(d) corrects the pivot exactly (corrected two-pass algorithm): large
//   offsets (1e4 + noise) cost no accuracy.
// - Blocks are merged in double with Chan's parallel formula, so a plane of
//   millions of elements does not lose precision to one running sum.
#pragma once
#include <cstdint>

#include "microkernels.h"

#ifndef INSTNORM_VEC
#error "define INSTNORM_VEC before including microkernels_impl.h"
#endif

namespace instnorm {
namespace kernels {
namespace {

using V = INSTNORM_VEC;
constexpr int W = V::kWidth;
constexpr int64_t kStatBlock = 1024;

inline int64_t min_i64(int64_t a, int64_t b) { return a < b ? a : b; }

// Sum of x[0..n), 4 independent accumulators to hide add latency.
inline double block_sum(const float* x, int64_t n) {
  V s0 = V::zero(), s1 = V::zero(), s2 = V::zero(), s3 = V::zero();
  int64_t i = 0;
  for (; i + 4 * W <= n; i += 4 * W) {
    s0 = s0 + V::load(x + i);
    s1 = s1 + V::load(x + i + W);
    s2 = s2 + V::load(x + i + 2 * W);
    s3 = s3 + V::load(x + i + 3 * W);
  }
  for (; i + W <= n; i += W) s0 = s0 + V::load(x + i);
  if (i < n) s1 = s1 + V::load_partial(x + i, static_cast<int>(n - i), 0.0f);
  return ((s0 + s1) + (s2 + s3)).sum();
}

// sum(x - p) and sum((x - p)^2) over x[0..n). Tail lanes are filled with p,
// so they contribute exactly zero. Four vectors per step keep eight
// independent add chains in flight (the loop is latency-bound otherwise).
inline void block_centered(const float* x, int64_t n, float p, double* sd,
                           double* sdd) {
  const V pv = V::set1(p);
  V a0 = V::zero(), a1 = V::zero(), a2 = V::zero(), a3 = V::zero();
  V q0 = V::zero(), q1 = V::zero(), q2 = V::zero(), q3 = V::zero();
  int64_t i = 0;
  for (; i + 4 * W <= n; i += 4 * W) {
    const V d0 = V::load(x + i) - pv;
    const V d1 = V::load(x + i + W) - pv;
    const V d2 = V::load(x + i + 2 * W) - pv;
    const V d3 = V::load(x + i + 3 * W) - pv;
    a0 = a0 + d0;
    a1 = a1 + d1;
    a2 = a2 + d2;
    a3 = a3 + d3;
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
  *sd = ((a0 + a1) + (a2 + a3)).sum();
  *sdd = ((q0 + q1) + (q2 + q3)).sum();
}

// One sweep per block, centred on a pivot: the previous block's mean (see
// first_pivot() for the first block). If the block's mean turns out to be
// further from the pivot than one standard deviation, the sums are redone
// around the block's own mean, so the cancellation in M2 = sum(d^2) -
// sum(d)^2/n never amplifies fp32 rounding by more than 2x. Blocks of
// smooth data take the one-sweep path; the pivot choice depends only on the
// data, so results stay deterministic.
// The first block's pivot: the mean of its first vector (up to W values),
// within a standard deviation of the block mean far more often than a
// single element is, so small planes rarely need the second sweep.
inline float first_pivot(const float* x, int64_t n) {
  const int r = n < W ? static_cast<int>(n) : W;
  return static_cast<float>(V::load_partial(x, r, 0.0f).sum() / r);
}

Moments moments(const float* x, int64_t n) {
  Moments acc{0.0, 0.0, 0.0};
  float pivot = first_pivot(x, n);
  for (int64_t start = 0; start < n; start += kStatBlock) {
    const int64_t len = min_i64(kStatBlock, n - start);
    const float* xb = x + start;
    const double cnt = static_cast<double>(len);
    double sd, sdd;
    block_centered(xb, len, pivot, &sd, &sdd);
    double bmean = static_cast<double>(pivot) + sd / cnt;
    double bm2 = sdd - sd * sd / cnt;
    // (Written so that NaN or an overflowed sum, inf, also takes the redo.)
    if (!(sd * sd <= bm2 * cnt)) {
      const float p2 = static_cast<float>(bmean);
      block_centered(xb, len, p2, &sd, &sdd);
      bmean = static_cast<double>(p2) + sd / cnt;
      bm2 = sdd - sd * sd / cnt;
    }
    if (bm2 < 0.0) bm2 = 0.0;
    if (start == 0) {  // first block: nothing to merge with (small planes end here)
      acc = {cnt, bmean, bm2};
      pivot = static_cast<float>(bmean);
      continue;
    }
    // Chan et al.: merge (acc) with (block).
    const double total = acc.count + cnt;
    const double delta = bmean - acc.mean;
    acc.mean += delta * (cnt / total);
    acc.m2 += bm2 + delta * delta * (acc.count * cnt / total);
    acc.count = total;
    pivot = static_cast<float>(bmean);
  }
  return acc;
}

// Runs out[i] = f(i) for i in [0, n) over vectors: f(i) returns the vector
// for elements [i, i + W), f_tail(i, r) for the last r < W. With `stream`,
// a head of plain stores reaches the alignment non-temporal stores need.
template <class F, class FTail>
inline void elementwise(float* out, int64_t n, bool stream, F f, FTail f_tail) {
  int64_t i = 0;
  constexpr uintptr_t kAlign = sizeof(float) * W;
  const uintptr_t mis = reinterpret_cast<uintptr_t>(out) % kAlign;
  if (stream && mis % sizeof(float) == 0) {
    int64_t head = mis ? static_cast<int64_t>((kAlign - mis) / sizeof(float)) : 0;
    if (head > n) head = n;
    if (head > 0) f_tail(0, static_cast<int>(head)).store_partial(out, static_cast<int>(head));
    for (i = head; i + 2 * W <= n; i += 2 * W) {
      const V r0 = f(i), r1 = f(i + W);
      r0.stream(out + i);
      r1.stream(out + i + W);
    }
  }
  for (; i + 2 * W <= n; i += 2 * W) {
    const V r0 = f(i), r1 = f(i + W);
    r0.store(out + i);
    r1.store(out + i + W);
  }
  if (i + W <= n) {
    f(i).store(out + i);
    i += W;
  }
  if (i < n) f_tail(i, static_cast<int>(n - i)).store_partial(out + i, static_cast<int>(n - i));
  if (stream) V::fence();
}

void affine(const float* x, float* y, int64_t n, float sub, float scale,
            float shift, bool stream) {
  const V s = V::set1(sub), a = V::set1(scale), b = V::set1(shift);
  elementwise(
      y, n, stream, [&](int64_t i) { return fmadd(V::load(x + i) - s, a, b); },
      [&](int64_t i, int r) { return fmadd(V::load_partial(x + i, r, sub) - s, a, b); });
}

// Sums over one block of d = x - px and g = dy - pg: sum(d), sum(g),
// sum(d^2), sum(g^2), sum(g*d). Tail lanes are filled with the pivots.
struct CoSums {
  double sd, sg, sdd, sgg, sgd;
};

inline CoSums block_co_centered(const float* gb, const float* xb, int64_t len,
                                float px, float pg) {
  const V pxv = V::set1(px), pgv = V::set1(pg);
  // Two vectors per step: ten independent accumulation chains.
  V ad0 = V::zero(), ag0 = V::zero(), qd0 = V::zero(), qg0 = V::zero(), cg0 = V::zero();
  V ad1 = V::zero(), ag1 = V::zero(), qd1 = V::zero(), qg1 = V::zero(), cg1 = V::zero();
  int64_t i = 0;
  for (; i + 2 * W <= len; i += 2 * W) {
    const V d0 = V::load(xb + i) - pxv, d1 = V::load(xb + i + W) - pxv;
    const V g0 = V::load(gb + i) - pgv, g1 = V::load(gb + i + W) - pgv;
    ad0 = ad0 + d0;
    ad1 = ad1 + d1;
    ag0 = ag0 + g0;
    ag1 = ag1 + g1;
    qd0 = fmadd(d0, d0, qd0);
    qd1 = fmadd(d1, d1, qd1);
    qg0 = fmadd(g0, g0, qg0);
    qg1 = fmadd(g1, g1, qg1);
    cg0 = fmadd(g0, d0, cg0);
    cg1 = fmadd(g1, d1, cg1);
  }
  if (i + W <= len) {
    const V d0 = V::load(xb + i) - pxv, g0 = V::load(gb + i) - pgv;
    ad0 = ad0 + d0;
    ag0 = ag0 + g0;
    qd0 = fmadd(d0, d0, qd0);
    qg0 = fmadd(g0, g0, qg0);
    cg0 = fmadd(g0, d0, cg0);
    i += W;
  }
  if (i < len) {
    const int r = static_cast<int>(len - i);
    const V d1 = V::load_partial(xb + i, r, px) - pxv;
    const V g1 = V::load_partial(gb + i, r, pg) - pgv;
    ad1 = ad1 + d1;
    ag1 = ag1 + g1;
    qd1 = fmadd(d1, d1, qd1);
    qg1 = fmadd(g1, g1, qg1);
    cg1 = fmadd(g1, d1, cg1);
  }
  return {(ad0 + ad1).sum(), (ag0 + ag1).sum(), (qd0 + qd1).sum(),
          (qg0 + qg1).sum(), (cg0 + cg1).sum()};
}

// Same scheme as moments(): one sweep per block around pivots carried over
// from the previous block, redone around the block's own means when either
// mean is further than one standard deviation from its pivot. The
// co-moment then carries at most ~2x the rounding of a centred sum.
CoMoments co_moments(const float* dy, const float* x, int64_t n) {
  CoMoments acc{0.0, 0.0, 0.0, 0.0, 0.0};
  float px = first_pivot(x, n), pg = first_pivot(dy, n);
  for (int64_t start = 0; start < n; start += kStatBlock) {
    const int64_t len = min_i64(kStatBlock, n - start);
    const double cnt = static_cast<double>(len);
    CoSums s = block_co_centered(dy + start, x + start, len, px, pg);
    double m2x = s.sdd - s.sd * s.sd / cnt;
    double m2g = s.sgg - s.sg * s.sg / cnt;
    if (!(s.sd * s.sd <= m2x * cnt) || !(s.sg * s.sg <= m2g * cnt)) {
      px = static_cast<float>(static_cast<double>(px) + s.sd / cnt);
      pg = static_cast<float>(static_cast<double>(pg) + s.sg / cnt);
      s = block_co_centered(dy + start, x + start, len, px, pg);
      m2x = s.sdd - s.sd * s.sd / cnt;
    }
    const double bmx = static_cast<double>(px) + s.sd / cnt;
    const double bmg = static_cast<double>(pg) + s.sg / cnt;
    if (m2x < 0.0) m2x = 0.0;
    const double bc = s.sgd - s.sd * s.sg / cnt;
    px = static_cast<float>(bmx);
    pg = static_cast<float>(bmg);
    if (start == 0) {  // first block: nothing to merge with (small planes end here)
      acc = {cnt, bmx, bmg, m2x, bc};
      continue;
    }
    // Chan et al., extended to the co-moment.
    const double total = acc.count + cnt;
    const double dmx = bmx - acc.mean_x, dmg = bmg - acc.mean_dy;
    const double w = acc.count * cnt / total;
    acc.mean_x += dmx * (cnt / total);
    acc.mean_dy += dmg * (cnt / total);
    acc.m2_x += m2x + dmx * dmx * w;
    acc.c_x_dy += bc + dmx * dmg * w;
    acc.count = total;
  }
  return acc;
}

void backward_apply(const float* dy, const float* x, float* dx, int64_t n,
                    float dy_sub, float x_sub, float a, float b, float c,
                    bool stream) {
  const V gs = V::set1(dy_sub), xs = V::set1(x_sub);
  const V av = V::set1(a), bv = V::set1(b), cv = V::set1(c);
  elementwise(
      dx, n, stream,
      [&](int64_t i) {
        return fmadd(av, V::load(dy + i) - gs, fmadd(bv, V::load(x + i) - xs, cv));
      },
      [&](int64_t i, int r) {
        const V g = V::load_partial(dy + i, r, dy_sub) - gs;
        const V d = V::load_partial(x + i, r, x_sub) - xs;
        return fmadd(av, g, fmadd(bv, d, cv));
      });
}


// ---------------------------------------------------------------------------
// Channels-last (column) kernels: a rows x C block, row stride C, column c
// is channel c.
//
// Statistics: vectors run across columns; a channel tile of NV vectors
// (NV * W columns) keeps its accumulators in registers while the loop walks
// its rows. The last tile of a row may be narrower: kTail marks that its
// last vector holds only `tail` columns, loaded with partial (masked) loads,
// so nothing past column C - 1 of the last row is read. Lanes of different
// columns never mix, so whatever a partial load puts in the unused lanes is
// never looked at. (Walking the block in memory order instead, with the
// accumulators in memory, reads DRAM ~10% faster for C of 64-256 but runs
// at half the speed from cache: two stores per vector.)

constexpr int64_t kColBlock = 256;   // rows per statistics block
constexpr int64_t kColSub = 32;      // rows per register partial sum
constexpr int64_t kPivotRows = 16;   // rows averaged for the first pivot

template <int N>
struct Int {
  static constexpr int value = N;
};

// Calls f(Int<NV>(), Int<kTail>(), tail) for a tile of `cols` columns
// (1 <= cols <= kMaxNV * W): NV = ceil(cols / W), the last vector holding
// `tail` columns (W when full).
template <int kMaxNV, class F>
inline void with_tile(int64_t cols, F f) {
  const int nv = static_cast<int>((cols + W - 1) / W);
  const int tail = static_cast<int>(cols - static_cast<int64_t>(nv - 1) * W);
  const bool part = tail != W;
  if (nv == 1) {
    if (part) f(Int<1>(), Int<1>(), tail); else f(Int<1>(), Int<0>(), tail);
  } else if constexpr (kMaxNV >= 2) {
    if (nv == 2) {
      if (part) f(Int<2>(), Int<1>(), tail); else f(Int<2>(), Int<0>(), tail);
    } else if constexpr (kMaxNV >= 4) {
      if (nv == 3) {
        if (part) f(Int<3>(), Int<1>(), tail); else f(Int<3>(), Int<0>(), tail);
      } else {
        if (part) f(Int<4>(), Int<1>(), tail); else f(Int<4>(), Int<0>(), tail);
      }
    }
  }
}

// Vector J (< NV) of a tile row at p.
template <int J, int NV, bool kTail>
inline V tload(const float* p, int tail) {
  static_assert(J < NV, "vector outside the tile");
  if constexpr (kTail && J == NV - 1) {
    return V::load_partial(p + J * W, tail, 0.0f);
  } else {
    return V::load(p + J * W);
  }
}

template <int J>
inline const V& pick(const V& a, const V& b, const V& c, const V& d) {
  if constexpr (J == 0) return a;
  else if constexpr (J == 1) return b;
  else if constexpr (J == 2) return c;
  else return d;
}

// Pivot for a tile's first block: per column, the mean of its first
// kPivotRows rows (scaled before adding, so it cannot overflow). Much more
// often within a standard deviation of the block mean than one row is.
template <int NV, bool kTail>
inline void col_first_pivot(const float* x, int64_t len, int64_t C, int tail, float* piv) {
  const int64_t k = min_i64(len, kPivotRows);
  const V inv = V::set1(1.0f / static_cast<float>(k));
  V m0 = V::zero(), m1 = V::zero(), m2 = V::zero(), m3 = V::zero();
  for (int64_t r = 0; r < k; ++r) {
    const float* row = x + r * C;
    m0 = fmadd(tload<0, NV, kTail>(row, tail), inv, m0);
    if constexpr (NV > 1) m1 = fmadd(tload<1, NV, kTail>(row, tail), inv, m1);
    if constexpr (NV > 2) m2 = fmadd(tload<2, NV, kTail>(row, tail), inv, m2);
    if constexpr (NV > 3) m3 = fmadd(tload<3, NV, kTail>(row, tail), inv, m3);
  }
  m0.store(piv);
  if constexpr (NV > 1) m1.store(piv + W);
  if constexpr (NV > 2) m2.store(piv + 2 * W);
  if constexpr (NV > 3) m3.store(piv + 3 * W);
}

// Accumulators of one slot: sum(d), sum(d^2).
struct Sums2 {
  V a, q;
};

// Slot K of a row group: vector K % NV of row K / NV.
template <int K, int NV, bool kTail>
inline void sums2_step(Sums2& s, const float* row, int64_t C, const V& p, int tail) {
  const V d = tload<K % NV, NV, kTail>(row + (K / NV) * C, tail) - p;
  s.a = s.a + d;
  s.q = fmadd(d, d, s.q);
}

// Adds v to the floats at p (a second-level partial sum).
inline void add_to(float* p, const V& v) { (V::load(p) + v).store(p); }

// Per column of a tile: sum(x - piv) and sum((x - piv)^2) over len rows.
// Four accumulator slots keep eight add chains in flight whatever NV is:
// vectors of U = 4 / NV consecutive rows go to separate slots (NV = 3: 6).
// The registers sum kColSub rows at a time and are then added to sd / sdd,
// so no fp32 partial sum runs over more than kColSub + kColBlock / kColSub
// terms (about as many as a lane of block_centered() sees).
template <int NV, bool kTail>
inline void col_centered(const float* x, int64_t len, int64_t C, int tail,
                         const float* piv, float* sd, float* sdd) {
  constexpr int U = NV == 3 ? 1 : 4 / NV;
  const V p0 = V::load(piv), p1 = V::load(piv + W), p2 = V::load(piv + 2 * W),
          p3 = V::load(piv + 3 * W);
  for (int j = 0; j < NV; ++j) {
    V::zero().store(sd + j * W);
    V::zero().store(sdd + j * W);
  }
  for (int64_t r0 = 0; r0 < len; r0 += kColSub) {
    const int64_t end = min_i64(len, r0 + kColSub);
    Sums2 s0{V::zero(), V::zero()}, s1 = s0, s2 = s0, s3 = s0;
    int64_t r = r0;
    for (; r + U <= end; r += U) {
      const float* row = x + r * C;
      sums2_step<0, NV, kTail>(s0, row, C, p0, tail);
      if constexpr (NV * U > 1)
        sums2_step<1, NV, kTail>(s1, row, C, pick<1 % NV>(p0, p1, p2, p3), tail);
      if constexpr (NV * U > 2)
        sums2_step<2, NV, kTail>(s2, row, C, pick<2 % NV>(p0, p1, p2, p3), tail);
      if constexpr (NV * U > 3)
        sums2_step<3, NV, kTail>(s3, row, C, pick<3 % NV>(p0, p1, p2, p3), tail);
    }
    for (; r < end; ++r) {  // fewer than U rows left: the first row's slots
      const float* row = x + r * C;
      sums2_step<0, NV, kTail>(s0, row, C, p0, tail);
      if constexpr (NV > 1) sums2_step<1, NV, kTail>(s1, row, C, p1, tail);
      if constexpr (NV > 2) sums2_step<2, NV, kTail>(s2, row, C, p2, tail);
      if constexpr (NV > 3) sums2_step<3, NV, kTail>(s3, row, C, p3, tail);
    }
    if constexpr (NV == 1) {
      s0.a = (s0.a + s1.a) + (s2.a + s3.a);
      s0.q = (s0.q + s1.q) + (s2.q + s3.q);
    } else if constexpr (NV == 2) {
      s0.a = s0.a + s2.a;
      s0.q = s0.q + s2.q;
      s1.a = s1.a + s3.a;
      s1.q = s1.q + s3.q;
    }
    add_to(sd, s0.a);
    add_to(sdd, s0.q);
    if constexpr (NV > 1) { add_to(sd + W, s1.a); add_to(sdd + W, s1.q); }
    if constexpr (NV > 2) { add_to(sd + 2 * W, s2.a); add_to(sdd + 2 * W, s2.q); }
    if constexpr (NV > 3) { add_to(sd + 3 * W, s3.a); add_to(sdd + 3 * W, s3.q); }
  }
}

// One block of rows [start, start + len) of one tile (out: its columns'
// running statistics, merged in place). The scheme of moments(), per
// column: one sweep around a pivot (the running mean; first block: see
// col_first_pivot()), redone for the whole tile around the block's own
// means if any column's mean is further than a standard deviation from its
// pivot.
template <int NV, bool kTail>
inline void col_moments_tile(const float* x, int64_t start, int64_t len, int64_t C, int tail,
                             Moments* out) {
  float piv[4 * W], sd[4 * W] = {}, sdd[4 * W] = {};  // (= {}: for GCC's uninitialized-use analysis)
  const int cols = (NV - 1) * W + tail;
  if (start == 0) {
    col_first_pivot<NV, kTail>(x, len, C, tail, piv);
  } else {
    for (int c = 0; c < cols; ++c) piv[c] = static_cast<float>(out[c].mean);
  }
  for (int c = cols; c < 4 * W; ++c) piv[c] = 0.0f;
  col_centered<NV, kTail>(x, len, C, tail, piv, sd, sdd);
  // Per column, with m = sum(d) / n: the test of moments(), sum(d)^2 <=
  // M2 * n, as sum(d) * m <= M2 (NaN- and inf-safe likewise).
  const double cnt = static_cast<double>(len), inv = 1.0 / cnt;
  bool redo = false;
  for (int c = 0; c < cols; ++c) {
    const double s = sd[c], sm = s * (s * inv);
    if (!(sm <= sdd[c] - sm)) redo = true;
  }
  if (redo) {
    for (int c = 0; c < cols; ++c) {
      piv[c] = static_cast<float>(static_cast<double>(piv[c]) + sd[c] * inv);
    }
    col_centered<NV, kTail>(x, len, C, tail, piv, sd, sdd);
  }
  // Chan et al.; every column has the same counts.
  const double total = static_cast<double>(start) + cnt;
  const double wb = cnt / total, wd = static_cast<double>(start) * cnt / total;
  for (int c = 0; c < cols; ++c) {
    const double m = sd[c] * inv;
    const double bmean = static_cast<double>(piv[c]) + m;
    double bm2 = sdd[c] - sd[c] * m;
    if (bm2 < 0.0) bm2 = 0.0;
    if (start == 0) {
      out[c] = {cnt, bmean, bm2};
      continue;
    }
    const double delta = bmean - out[c].mean;
    out[c].mean += delta * wb;
    out[c].m2 += bm2 + delta * delta * wd;
    out[c].count = total;
  }
}

// Blocks outermost, so that all of a block's tiles are done while its rows
// are still in cache; within a block, one tile at a time over its rows.
inline void col_moments_rows(const float* x, int64_t rows, int64_t C, Moments* out) {
  for (int64_t start = 0; start < rows; start += kColBlock) {
    const int64_t len = min_i64(kColBlock, rows - start);
    const float* xb = x + start * C;
    for (int64_t c0 = 0; c0 < C; c0 += 4 * W) {
      with_tile<4>(min_i64(4 * W, C - c0), [&](auto nv, auto part, int tail) {
        col_moments_tile<decltype(nv)::value, decltype(part)::value != 0>(xb + c0, start, len, C,
                                                                          tail, out + c0);
      });
    }
  }
}

// Accumulators of one slot of the joint statistics (see CoSums).
struct Sums5 {
  V d, g, dd, gg, gd;
};

template <int K, int NV, bool kTail>
inline void sums5_step(Sums5& s, const float* grow, const float* xrow, int64_t C, const V& px,
                       const V& pg, int tail) {
  const int64_t off = (K / NV) * C;
  const V d = tload<K % NV, NV, kTail>(xrow + off, tail) - px;
  const V g = tload<K % NV, NV, kTail>(grow + off, tail) - pg;
  s.d = s.d + d;
  s.g = s.g + g;
  s.dd = fmadd(d, d, s.dd);
  s.gg = fmadd(g, g, s.gg);
  s.gd = fmadd(g, d, s.gd);
}

inline void sums5_add(const Sums5& s, float* out, int j) {
  constexpr int S = 2 * W;  // stride between the five sums
  add_to(out + j * W, s.d);
  add_to(out + S + j * W, s.g);
  add_to(out + 2 * S + j * W, s.dd);
  add_to(out + 3 * S + j * W, s.gg);
  add_to(out + 4 * S + j * W, s.gd);
}

// Per column of a tile of up to two vectors: the five sums of
// block_co_centered(), two-level as in col_centered(). Two slots (ten
// chains): NV = 1 splits rows in pairs.
// sums: [sd | sg | sdd | sgg | sgd], 2 * W floats each.
template <int NV, bool kTail>
inline void col_co_centered(const float* dy, const float* x, int64_t len, int64_t C, int tail,
                            const float* px, const float* pg, float* sums) {
  constexpr int U = 2 / NV;
  const V px0 = V::load(px), px1 = V::load(px + W);
  const V pg0 = V::load(pg), pg1 = V::load(pg + W);
  const V z = V::zero();
  for (int j = 0; j < 10; ++j) z.store(sums + j * W);
  for (int64_t r0 = 0; r0 < len; r0 += kColSub) {
    const int64_t end = min_i64(len, r0 + kColSub);
    Sums5 s0{z, z, z, z, z}, s1 = s0;
    int64_t r = r0;
    for (; r + U <= end; r += U) {
      const float* gr = dy + r * C;
      const float* xr = x + r * C;
      sums5_step<0, NV, kTail>(s0, gr, xr, C, px0, pg0, tail);
      sums5_step<1, NV, kTail>(s1, gr, xr, C, NV == 1 ? px0 : px1, NV == 1 ? pg0 : pg1, tail);
    }
    if (r < end) {  // NV = 1 only: one row left
      sums5_step<0, NV, kTail>(s0, dy + r * C, x + r * C, C, px0, pg0, tail);
    }
    if constexpr (NV == 1) {
      s0.d = s0.d + s1.d;
      s0.g = s0.g + s1.g;
      s0.dd = s0.dd + s1.dd;
      s0.gg = s0.gg + s1.gg;
      s0.gd = s0.gd + s1.gd;
    }
    sums5_add(s0, sums, 0);
    if constexpr (NV == 2) sums5_add(s1, sums, 1);
  }
}

// As col_moments_tile(), for the joint statistics (the scheme of co_moments()).
template <int NV, bool kTail>
inline void col_co_moments_tile(const float* dy, const float* x, int64_t start, int64_t len,
                                int64_t C, int tail, CoMoments* out) {
  constexpr int S = 2 * W;
  float px[S], pg[S], sums[5 * S] = {};
  const float *sd = sums, *sg = sums + S, *sdd = sums + 2 * S, *sgg = sums + 3 * S,
              *sgd = sums + 4 * S;
  const int cols = (NV - 1) * W + tail;
  if (start == 0) {
    col_first_pivot<NV, kTail>(x, len, C, tail, px);
    col_first_pivot<NV, kTail>(dy, len, C, tail, pg);
  } else {
    for (int c = 0; c < cols; ++c) {
      px[c] = static_cast<float>(out[c].mean_x);
      pg[c] = static_cast<float>(out[c].mean_dy);
    }
  }
  for (int c = cols; c < S; ++c) px[c] = pg[c] = 0.0f;
  col_co_centered<NV, kTail>(dy, x, len, C, tail, px, pg, sums);
  const double cnt = static_cast<double>(len), inv = 1.0 / cnt;
  bool redo = false;
  for (int c = 0; c < cols; ++c) {  // the test of col_moments_tile(), on x and dy
    const double dm = sd[c] * (sd[c] * inv), gm = sg[c] * (sg[c] * inv);
    if (!(dm <= sdd[c] - dm) || !(gm <= sgg[c] - gm)) redo = true;
  }
  if (redo) {
    for (int c = 0; c < cols; ++c) {
      px[c] = static_cast<float>(static_cast<double>(px[c]) + sd[c] * inv);
      pg[c] = static_cast<float>(static_cast<double>(pg[c]) + sg[c] * inv);
    }
    col_co_centered<NV, kTail>(dy, x, len, C, tail, px, pg, sums);
  }
  const double total = static_cast<double>(start) + cnt;
  const double wb = cnt / total, wd = static_cast<double>(start) * cnt / total;
  for (int c = 0; c < cols; ++c) {
    const double mx = sd[c] * inv, mg = sg[c] * inv;
    const double bmx = static_cast<double>(px[c]) + mx;
    const double bmg = static_cast<double>(pg[c]) + mg;
    double m2x = sdd[c] - sd[c] * mx;
    if (m2x < 0.0) m2x = 0.0;
    const double bc = sgd[c] - sg[c] * mx;
    CoMoments& o = out[c];
    if (start == 0) {
      o = {cnt, bmx, bmg, m2x, bc};
      continue;
    }
    const double dmx = bmx - o.mean_x, dmg = bmg - o.mean_dy;
    o.mean_x += dmx * wb;
    o.mean_dy += dmg * wb;
    o.m2_x += m2x + dmx * dmx * wd;
    o.c_x_dy += bc + dmx * dmg * wd;
    o.count = total;
  }
}

inline void col_co_moments_rows(const float* dy, const float* x, int64_t rows, int64_t C,
                                CoMoments* out) {
  for (int64_t start = 0; start < rows; start += kColBlock) {
    const int64_t len = min_i64(kColBlock, rows - start);
    const float* gb = dy + start * C;
    const float* xb = x + start * C;
    for (int64_t c0 = 0; c0 < C; c0 += 2 * W) {
      with_tile<2>(min_i64(2 * W, C - c0), [&](auto nv, auto part, int tail) {
        col_co_moments_tile<decltype(nv)::value, decltype(part)::value != 0>(
            gb + c0, xb + c0, start, len, C, tail, out + c0);
      });
    }
  }
}

// Narrow blocks: when C is not a multiple of W, every row ends in a partial
// vector (masked loads, a fraction of the lanes busy: C = 3 would run at a
// fifth of the speed of C = 8). For small C, g = W / gcd(C, W) consecutive
// rows are instead viewed as one row of L = g * C columns, a multiple of W:
// the tiles then run on full vectors, and the g partial results of each
// channel (all with the same count), then those of the rows % g rows left
// over, are merged per channel with Chan's formula, always in the same
// order. Only up to L = 8 W (two tiles): wider virtual rows are walked in
// more strided tile passes, which costs more than the partial vectors do
// (measured: C = 5 or 7 gain up to 2x, C = 11 to 31 would lose 30-40%).
constexpr int64_t kVirtMax = 8 * W;

inline int64_t virtual_group(int64_t C) {  // W / gcd(C, W); W is a power of two
  int64_t g = W;
  while (g > 1 && C % 2 == 0) {
    C /= 2;
    g /= 2;
  }
  return g;
}

inline void merge_into(Moments& a, const Moments& b) {
  const double total = a.count + b.count;
  const double delta = b.mean - a.mean;
  a.mean += delta * (b.count / total);
  a.m2 += b.m2 + delta * delta * (a.count * b.count / total);
  a.count = total;
}

inline void merge_into(CoMoments& a, const CoMoments& b) {
  const double total = a.count + b.count;
  const double dx = b.mean_x - a.mean_x, dg = b.mean_dy - a.mean_dy;
  const double w = a.count * b.count / total;
  a.mean_x += dx * (b.count / total);
  a.mean_dy += dg * (b.count / total);
  a.m2_x += b.m2_x + dx * dx * w;
  a.c_x_dy += b.c_x_dy + dx * dg * w;
  a.count = total;
}

void col_moments(const float* x, int64_t rows, int64_t C, Moments* out) {
  const int64_t g = virtual_group(C), L = g * C;
  if (g == 1 || L > kVirtMax || rows < g) {
    col_moments_rows(x, rows, C, out);
    return;
  }
  Moments v[kVirtMax];
  const int64_t vrows = rows / g, left = rows - vrows * g;
  col_moments_rows(x, vrows, L, v);
  for (int64_t c = 0; c < C; ++c) {
    out[c] = v[c];
    for (int64_t k = 1; k < g; ++k) merge_into(out[c], v[k * C + c]);
  }
  if (left > 0) {
    col_moments_rows(x + vrows * L, left, C, v);
    for (int64_t c = 0; c < C; ++c) merge_into(out[c], v[c]);
  }
}

void col_co_moments(const float* dy, const float* x, int64_t rows, int64_t C, CoMoments* out) {
  const int64_t g = virtual_group(C), L = g * C;
  if (g == 1 || L > kVirtMax || rows < g) {
    col_co_moments_rows(dy, x, rows, C, out);
    return;
  }
  CoMoments v[kVirtMax];
  const int64_t vrows = rows / g, left = rows - vrows * g;
  col_co_moments_rows(dy, x, vrows, L, v);
  for (int64_t c = 0; c < C; ++c) {
    out[c] = v[c];
    for (int64_t k = 1; k < g; ++k) merge_into(out[c], v[k * C + c]);
  }
  if (left > 0) {
    col_co_moments_rows(dy + vrows * L, x + vrows * L, left, C, v);
    for (int64_t c = 0; c < C; ++c) merge_into(out[c], v[c]);
  }
}

// Column-periodic elementwise ops (col_affine, col_backward_apply). The
// block is one flat run of rows * C floats whose coefficients repeat every
// C floats, so it is walked in memory order like elementwise() (sequential
// reads and writes whatever C is; channel tiles walked down the rows lose
// about a third of the DRAM bandwidth once C exceeds one tile). The
// coefficients are copied into arrays extended to C + W entries (e[k] =
// coef[k % C]): the vector at flat position i then takes its coefficients
// with one plain load at e + i % C, even where it wraps into the next row,
// and only the very last vector of the run is partial.
constexpr int64_t kColExt = 512;  // widest C with extended coefficients (on the stack)

inline void extend_coef(const float* coef, int64_t C, float* e) {
  int64_t k = 0;
  while (k < C + W) {
    for (int64_t c = 0; c < C && k < C + W; ++c) e[k++] = coef[c];
  }
}

// As elementwise(), with o = i % C passed along: f(i, o) is the vector for
// [i, i + W), f_tail(i, r, o) for the last r < W elements.
template <class F, class FTail>
inline void col_periodic(float* out, int64_t n, int64_t C, bool stream, F f, FTail f_tail) {
  const int64_t step = W % C;
  auto next = [&](int64_t o) { return o + step >= C ? o + step - C : o + step; };
  int64_t i = 0, o = 0;
  constexpr uintptr_t kAlign = sizeof(float) * W;
  const uintptr_t mis = reinterpret_cast<uintptr_t>(out) % kAlign;
  if (stream && mis % sizeof(float) == 0) {
    int64_t head = mis ? static_cast<int64_t>((kAlign - mis) / sizeof(float)) : 0;
    if (head > n) head = n;
    if (head > 0) f_tail(0, static_cast<int>(head), 0).store_partial(out, static_cast<int>(head));
    o = head % C;
    for (i = head; i + 2 * W <= n; i += 2 * W) {
      const int64_t o1 = next(o);
      const V r0 = f(i, o), r1 = f(i + W, o1);
      r0.stream(out + i);
      r1.stream(out + i + W);
      o = next(o1);
    }
  }
  for (; i + 2 * W <= n; i += 2 * W) {
    const int64_t o1 = next(o);
    const V r0 = f(i, o), r1 = f(i + W, o1);
    r0.store(out + i);
    r1.store(out + i + W);
    o = next(o1);
  }
  if (i + W <= n) {
    f(i, o).store(out + i);
    i += W;
    o = next(o);
  }
  if (i < n) f_tail(i, static_cast<int>(n - i), o).store_partial(out + i, static_cast<int>(n - i));
  if (stream) V::fence();
}

// Wide rows (C > kColExt): row by row, coefficients loaded straight from
// the arrays (they stay in L1), the last vector of each row partial.
// f(off, j) is the vector for columns [j, j + W) of the row at flat offset
// off, f_tail(off, j, r) for its last r < W columns. Non-temporal stores
// only when every full vector is aligned.
template <class F, class FTail>
inline void col_rows(float* out, int64_t rows, int64_t C, bool stream, F f, FTail f_tail) {
  const int64_t full = C / W * W;
  const int tail = static_cast<int>(C - full);
  const bool nt = stream && tail == 0 &&
                  reinterpret_cast<uintptr_t>(out) % (sizeof(float) * W) == 0;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t off = r * C;
    float* o = out + off;
    if (nt) {
      for (int64_t j = 0; j < full; j += W) f(off, j).stream(o + j);
    } else {
      for (int64_t j = 0; j < full; j += W) f(off, j).store(o + j);
      if (tail) f_tail(off, full, tail).store_partial(o + full, tail);
    }
  }
  if (nt) V::fence();
}

void col_affine(const float* x, float* y, int64_t rows, int64_t C, const float* sub,
                const float* scale, const float* shift, bool stream) {
  if (C > kColExt) {
    col_rows(
        y, rows, C, stream,
        [&](int64_t off, int64_t j) {
          return fmadd(V::load(x + off + j) - V::load(sub + j), V::load(scale + j),
                       V::load(shift + j));
        },
        [&](int64_t off, int64_t j, int r) {
          return fmadd(V::load_partial(x + off + j, r, 0.0f) - V::load_partial(sub + j, r, 0.0f),
                       V::load_partial(scale + j, r, 0.0f), V::load_partial(shift + j, r, 0.0f));
        });
    return;
  }
  float es[kColExt + W], ea[kColExt + W], eb[kColExt + W];
  extend_coef(sub, C, es);
  extend_coef(scale, C, ea);
  extend_coef(shift, C, eb);
  col_periodic(
      y, rows * C, C, stream,
      [&](int64_t i, int64_t o) {
        return fmadd(V::load(x + i) - V::load(es + o), V::load(ea + o), V::load(eb + o));
      },
      [&](int64_t i, int r, int64_t o) {
        return fmadd(V::load_partial(x + i, r, 0.0f) - V::load(es + o), V::load(ea + o),
                     V::load(eb + o));
      });
}

void col_backward_apply(const float* dy, const float* x, float* dx, int64_t rows, int64_t C,
                        const float* dy_sub, const float* x_sub, const float* a, const float* b,
                        const float* c, bool stream) {
  if (C > kColExt) {
    col_rows(
        dx, rows, C, stream,
        [&](int64_t off, int64_t j) {
          const V g = V::load(dy + off + j) - V::load(dy_sub + j);
          const V d = V::load(x + off + j) - V::load(x_sub + j);
          return fmadd(V::load(a + j), g, fmadd(V::load(b + j), d, V::load(c + j)));
        },
        [&](int64_t off, int64_t j, int r) {
          const V g = V::load_partial(dy + off + j, r, 0.0f) - V::load_partial(dy_sub + j, r, 0.0f);
          const V d = V::load_partial(x + off + j, r, 0.0f) - V::load_partial(x_sub + j, r, 0.0f);
          return fmadd(V::load_partial(a + j, r, 0.0f), g,
                       fmadd(V::load_partial(b + j, r, 0.0f), d, V::load_partial(c + j, r, 0.0f)));
        });
    return;
  }
  float egs[kColExt + W], exs[kColExt + W], ea[kColExt + W], eb[kColExt + W], ec[kColExt + W];
  extend_coef(dy_sub, C, egs);
  extend_coef(x_sub, C, exs);
  extend_coef(a, C, ea);
  extend_coef(b, C, eb);
  extend_coef(c, C, ec);
  col_periodic(
      dx, rows * C, C, stream,
      [&](int64_t i, int64_t o) {
        const V g = V::load(dy + i) - V::load(egs + o);
        const V d = V::load(x + i) - V::load(exs + o);
        return fmadd(V::load(ea + o), g, fmadd(V::load(eb + o), d, V::load(ec + o)));
      },
      [&](int64_t i, int r, int64_t o) {
        const V g = V::load_partial(dy + i, r, 0.0f) - V::load(egs + o);
        const V d = V::load_partial(x + i, r, 0.0f) - V::load(exs + o);
        return fmadd(V::load(ea + o), g, fmadd(V::load(eb + o), d, V::load(ec + o)));
      });
}

// ---------------------------------------------------------------------------
// Layer-norm rows: xhat = (x - sub) * scale + shift, elementwise g and b.

void affine_elementwise(const float* x, float* y, int64_t n, float sub, float scale, float shift,
                        const float* g, const float* b, bool stream) {
  const V s = V::set1(sub), a = V::set1(scale), t = V::set1(shift);
  elementwise(
      y, n, stream,
      [&](int64_t i) {
        return fmadd(fmadd(V::load(x + i) - s, a, t), V::load(g + i), V::load(b + i));
      },
      [&](int64_t i, int r) {
        const V xh = fmadd(V::load_partial(x + i, r, sub) - s, a, t);
        return fmadd(xh, V::load_partial(g + i, r, 0.0f), V::load_partial(b + i, r, 0.0f));
      });
}

// One vector of row_backward_reduce(): r < W lanes (partial) when kPartial.
template <bool kPartial>
inline void row_bwd_reduce_step(const float* dy, const float* x, const float* g, float* dg_acc,
                                float* db_acc, int64_t i, int r, float sub, const V& s,
                                const V& a, const V& t, V& u, V& v) {
  const V d = kPartial ? V::load_partial(dy + i, r, 0.0f) : V::load(dy + i);
  const V xv = kPartial ? V::load_partial(x + i, r, sub) : V::load(x + i);
  const V gv = kPartial ? V::load_partial(g + i, r, 0.0f) : V::load(g + i);
  const V dg = kPartial ? V::load_partial(dg_acc + i, r, 0.0f) : V::load(dg_acc + i);
  const V db = kPartial ? V::load_partial(db_acc + i, r, 0.0f) : V::load(db_acc + i);
  const V xh = fmadd(xv - s, a, t);
  const V gd = gv * d;
  u = u + gd;
  v = fmadd(gd, xh, v);
  if (kPartial) {
    fmadd(d, xh, dg).store_partial(dg_acc + i, r);
    (db + d).store_partial(db_acc + i, r);
  } else {
    fmadd(d, xh, dg).store(dg_acc + i);
    (db + d).store(db_acc + i);
  }
}

RowSums row_backward_reduce(const float* dy, const float* x, const float* g, int64_t n, float sub,
                            float scale, float shift, float* dg_acc, float* db_acc) {
  const V s = V::set1(sub), a = V::set1(scale), t = V::set1(shift);
  RowSums acc{0.0, 0.0};
  for (int64_t start = 0; start < n; start += kStatBlock) {
    const int64_t end = min_i64(n, start + kStatBlock);
    V u0 = V::zero(), u1 = V::zero(), v0 = V::zero(), v1 = V::zero();
    int64_t i = start;
    for (; i + 2 * W <= end; i += 2 * W) {
      row_bwd_reduce_step<false>(dy, x, g, dg_acc, db_acc, i, W, sub, s, a, t, u0, v0);
      row_bwd_reduce_step<false>(dy, x, g, dg_acc, db_acc, i + W, W, sub, s, a, t, u1, v1);
    }
    if (i + W <= end) {
      row_bwd_reduce_step<false>(dy, x, g, dg_acc, db_acc, i, W, sub, s, a, t, u0, v0);
      i += W;
    }
    if (i < end) {
      row_bwd_reduce_step<true>(dy, x, g, dg_acc, db_acc, i, static_cast<int>(end - i), sub, s, a,
                                t, u1, v1);
    }
    acc.g_dy += (u0 + u1).sum();
    acc.g_dy_xhat += (v0 + v1).sum();
  }
  return acc;
}

void row_backward_apply(const float* dy, const float* x, const float* g, float* dx, int64_t n,
                        float sub, float scale, float shift, float k1, float k2, float k3,
                        bool stream) {
  const V s = V::set1(sub), a = V::set1(scale), t = V::set1(shift);
  const V k1v = V::set1(k1), k2v = V::set1(k2), k3v = V::set1(k3);
  elementwise(
      dx, n, stream,
      [&](int64_t i) {
        const V xh = fmadd(V::load(x + i) - s, a, t);
        return fmadd(k1v * V::load(g + i), V::load(dy + i), fmadd(k3v, xh, k2v));
      },
      [&](int64_t i, int r) {
        const V xh = fmadd(V::load_partial(x + i, r, sub) - s, a, t);
        return fmadd(k1v * V::load_partial(g + i, r, 0.0f), V::load_partial(dy + i, r, 0.0f),
                     fmadd(k3v, xh, k2v));
      });
}

}  // namespace

const KernelTable& INSTNORM_TABLE_NAME() {
  static const KernelTable table = {
      INSTNORM_ISA_NAME,  W,
      moments,            affine,
      co_moments,         backward_apply,
      col_moments,        col_co_moments,
      col_affine,         col_backward_apply,
      affine_elementwise, row_backward_reduce,
      row_backward_apply};
  return table;
}

}  // namespace kernels
}  // namespace instnorm
