// Chan, Golub and LeVeque's parallel merge of centered statistics: the one
// copy of the formula, for the kernels (block by block, column by column)
// and the ops layer (chunk by chunk, plane by plane). Merging two runs of
// na and nb values with means ma, mb and delta = mb - ma:
//   mean = ma + delta * nb / n,   M2 = M2a + M2b + delta^2 * na * nb / n
// and likewise for the co-moment, with delta_x * delta_dy.
//
// Two association orders of the M2 sum exist, and both are kept: results are
// bit-identical with those published before this header existed, and the
// tests compare results across thread counts bit for bit.
// - chan_accumulate(acc, b): acc.m2 += (b.m2 + correction), the kernels'
//   running merge of block after block;
// - chan_merge(a, b): (a.m2 + b.m2) + correction, the ops layer's merge of
//   chunk results (an empty side passes the other through unchanged).
// They differ at most in the last bit of M2. New code: use chan_merge unless
// it must reproduce a kernel's running order.
//
// This header is compiled into baseline and ISA translation units alike: an
// inline namespace named after the translation unit's ISA (none: baseline)
// keeps the copies apart, so the linker can never pick an AVX-512 copy for
// the baseline path (see native/README.md, "One-definition rule").
#pragma once
#include "microkernels.h"

#if defined(INSTNORM_TARGET_ISA)
#define INSTNORM_CHAN_NS INSTNORM_TARGET_ISA
#else
#define INSTNORM_CHAN_NS baseline
#endif

namespace instnorm {
namespace kernels {
inline namespace INSTNORM_CHAN_NS {

// The weights of one merge of a run of na values with a run of nb values.
// Computed once when many merges share the counts (every column of a
// channels-last block has the same counts).
struct ChanWeights {
  double total;  // na + nb
  double b;      // nb / total: the weight of the mean difference
  double ab;     // na * nb / total: the weight of the squared mean difference
};

inline ChanWeights chan_weights(double na, double nb) {
  const double total = na + nb;
  return {total, nb / total, na * nb / total};
}

// acc <- acc merged with b, with w = chan_weights(acc.count, b.count).
// acc must not be empty (the kernels start from their first block).
inline void chan_accumulate(Moments& acc, const Moments& b, const ChanWeights& w) {
  const double delta = b.mean - acc.mean;
  acc.mean += delta * w.b;
  acc.m2 += b.m2 + delta * delta * w.ab;
  acc.count = w.total;
}

inline void chan_accumulate(CoMoments& acc, const CoMoments& b, const ChanWeights& w) {
  const double dx = b.mean_x - acc.mean_x, dg = b.mean_dy - acc.mean_dy;
  acc.mean_x += dx * w.b;
  acc.mean_dy += dg * w.b;
  acc.m2_x += b.m2_x + dx * dx * w.ab;
  acc.c_x_dy += b.c_x_dy + dx * dg * w.ab;
  acc.count = w.total;
}

template <class Stats>
inline void chan_accumulate(Stats& acc, const Stats& b) {
  chan_accumulate(acc, b, chan_weights(acc.count, b.count));
}

// a merged with b; either may be empty (count 0).
inline Moments chan_merge(const Moments& a, const Moments& b) {
  if (a.count == 0.0) return b;
  if (b.count == 0.0) return a;
  const ChanWeights w = chan_weights(a.count, b.count);
  const double delta = b.mean - a.mean;
  return {w.total, a.mean + delta * w.b, a.m2 + b.m2 + delta * delta * w.ab};
}

inline CoMoments chan_merge(const CoMoments& a, const CoMoments& b) {
  if (a.count == 0.0) return b;
  if (b.count == 0.0) return a;
  const ChanWeights w = chan_weights(a.count, b.count);
  const double dx = b.mean_x - a.mean_x, dg = b.mean_dy - a.mean_dy;
  return {w.total, a.mean_x + dx * w.b, a.mean_dy + dg * w.b, a.m2_x + b.m2_x + dx * dx * w.ab,
          a.c_x_dy + b.c_x_dy + dx * dg * w.ab};
}

}  // namespace INSTNORM_CHAN_NS
}  // namespace kernels
}  // namespace instnorm

#undef INSTNORM_CHAN_NS
