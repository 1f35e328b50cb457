// Plane kernels: one contiguous run of floats (a plane, or a chunk of one).
//
// Accuracy design (see README "Numerics"):
// - Statistics are taken over blocks of kStatBlock floats, as sums of
//   d = x - pivot and d*d with a pivot near the block mean (see moments()),
//   so fp32 partial sums only ever hold short runs of centred values, and
//   sum(d) corrects the pivot exactly (corrected two-pass algorithm): large
//   offsets (1e4 + noise) cost no accuracy.
// - Blocks are merged in double with Chan's parallel formula (chan_merge.h),
//   so a plane of millions of elements does not lose precision to one
//   running sum.
#pragma once
#include "kernel_common.h"

namespace instnorm {
namespace kernels {
namespace {

// Work a statistics loop carries along, one step per step of its own (the
// fused kernels at the end of this file): none, for the plain kernels.
struct NoSide {
  void step() {}
};

// sum(x - p) and sum((x - p)^2) over x[0..n). Tail lanes are filled with p,
// so they contribute exactly zero. Four vectors per step keep eight
// independent add chains in flight (the loop is latency-bound otherwise).
// `side` steps once per step of four vectors: it changes no arithmetic of
// the sums, so results are the same bits with or without it.
template <class Side = NoSide>
inline void block_centered(const float* x, int64_t n, float p, double* sd,
                           double* sdd, Side&& side = Side()) {
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
    side.step();
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

template <class Side = NoSide>
Moments moments_with(const float* x, int64_t n, Side&& side = Side()) {
  Moments acc{0.0, 0.0, 0.0};
  float pivot = first_pivot(x, n);
  for (int64_t start = 0; start < n; start += kStatBlock) {
    const int64_t len = min_i64(kStatBlock, n - start);
    const float* xb = x + start;
    const double cnt = static_cast<double>(len);
    double sd, sdd;
    block_centered(xb, len, pivot, &sd, &sdd, side);
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
    chan_accumulate(acc, Moments{cnt, bmean, bm2});
    pivot = static_cast<float>(bmean);
  }
  return acc;
}

Moments moments(const float* x, int64_t n) { return moments_with(x, n); }

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

template <class Side = NoSide>
inline CoSums block_co_centered(const float* gb, const float* xb, int64_t len,
                                float px, float pg, Side&& side = Side()) {
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
    side.step();
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
template <class Side = NoSide>
CoMoments co_moments_with(const float* dy, const float* x, int64_t n, Side&& side = Side()) {
  CoMoments acc{0.0, 0.0, 0.0, 0.0, 0.0};
  float px = first_pivot(x, n), pg = first_pivot(dy, n);
  for (int64_t start = 0; start < n; start += kStatBlock) {
    const int64_t len = min_i64(kStatBlock, n - start);
    const double cnt = static_cast<double>(len);
    CoSums s = block_co_centered(dy + start, x + start, len, px, pg, side);
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
    chan_accumulate(acc, CoMoments{cnt, bmx, bmg, m2x, bc});
  }
  return acc;
}

CoMoments co_moments(const float* dy, const float* x, int64_t n) { return co_moments_with(dy, x, n); }

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

// ---- Fused: one plane's apply pass carried by the next plane's statistics ----
// A plane-by-plane op reads each plane twice (statistics, then the apply
// from cache) and writes it once: run one after the other, the statistics
// pass only reads and the apply pass mostly writes, and a single core keeps
// few of its memory requests in flight in each. Carrying plane k's apply
// along plane k+1's statistics loop keeps reads and writes in flight
// together. The statistics are the same bits as moments() / co_moments()
// of the next plane alone (the side work touches none of their arithmetic).

// The apply y = f(i) over [0, n) as side work: a chunk per step of the
// statistics loop (alignment head first when streaming), the rest at finish().
template <int kStep, class F, class FTail>
struct ApplySide {
  float* out;
  int64_t n, i = 0;
  bool nt;
  F f;
  FTail f_tail;
  ApplySide(float* o, int64_t len, bool stream, F fn, FTail tail) : out(o), n(len), nt(false), f(fn), f_tail(tail) {
    // As elementwise(): aligned stores after a head.
    const int64_t head = stream || n >= 4 * W ? align_head(out, n) : 0;
    if (head > 0) f_tail(0, static_cast<int>(head)).store_partial(out, static_cast<int>(head));
    i = head;
    nt = stream && reinterpret_cast<uintptr_t>(out + i) % (sizeof(float) * W) == 0;
  }
  void step() {
    if (i + kStep * W > n) return;
    for (int k = 0; k < kStep; ++k) {
      const V r = f(i + k * W);
      if (nt) {
        r.stream(out + i + k * W);
      } else {
        r.store(out + i + k * W);
      }
    }
    i += kStep * W;
  }
  void finish() {
    for (; i + W <= n; i += W) {
      if (nt) {
        f(i).stream(out + i);
      } else {
        f(i).store(out + i);
      }
    }
    if (i < n) f_tail(i, static_cast<int>(n - i)).store_partial(out + i, static_cast<int>(n - i));
    if (nt) V::fence();
  }
};

template <int kStep, class F, class FTail>
ApplySide<kStep, F, FTail> apply_side(float* out, int64_t n, bool stream, F f, FTail tail) {
  return ApplySide<kStep, F, FTail>(out, n, stream, f, tail);
}

Moments affine_moments(const float* x, float* y, int64_t n, float sub, float scale, float shift, bool stream,
                       const float* next, int64_t n_next) {
  const V s = V::set1(sub), a = V::set1(scale), b = V::set1(shift);
  auto side = apply_side<4>(
      y, n, stream, [&](int64_t i) { return fmadd(V::load(x + i) - s, a, b); },
      [&](int64_t i, int r) { return fmadd(V::load_partial(x + i, r, sub) - s, a, b); });
  const Moments m = moments_with(next, n_next, side);
  side.finish();
  return m;
}

CoMoments backward_apply_co_moments(const float* dy, const float* x, float* dx, int64_t n, float dy_sub,
                                    float x_sub, float a, float b, float c, bool stream, const float* dy_next,
                                    const float* x_next, int64_t n_next) {
  const V gs = V::set1(dy_sub), xs = V::set1(x_sub);
  const V av = V::set1(a), bv = V::set1(b), cv = V::set1(c);
  auto side = apply_side<2>(
      dx, n, stream,
      [&](int64_t i) { return fmadd(av, V::load(dy + i) - gs, fmadd(bv, V::load(x + i) - xs, cv)); },
      [&](int64_t i, int r) {
        const V g = V::load_partial(dy + i, r, dy_sub) - gs;
        const V d = V::load_partial(x + i, r, x_sub) - xs;
        return fmadd(av, g, fmadd(bv, d, cv));
      });
  const CoMoments m = co_moments_with(dy_next, x_next, n_next, side);
  side.finish();
  return m;
}

}  // namespace
}  // namespace kernels
}  // namespace instnorm
