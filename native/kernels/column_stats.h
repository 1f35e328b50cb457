// Column family, part 2: per-column statistics of a channels-last block
// (col_moments, col_co_moments), from the tiles of column_tiles.h.
#pragma once
#include "column_tiles.h"

namespace instnorm {
namespace kernels {
namespace {

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
  // Every column has the same counts: one set of merge weights.
  const ChanWeights w = chan_weights(static_cast<double>(start), cnt);
  for (int c = 0; c < cols; ++c) {
    const double m = sd[c] * inv;
    const double bmean = static_cast<double>(piv[c]) + m;
    double bm2 = sdd[c] - sd[c] * m;
    if (bm2 < 0.0) bm2 = 0.0;
    if (start == 0) {
      out[c] = {cnt, bmean, bm2};
      continue;
    }
    chan_accumulate(out[c], Moments{cnt, bmean, bm2}, w);
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
  const ChanWeights w = chan_weights(static_cast<double>(start), cnt);
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
    chan_accumulate(o, CoMoments{cnt, bmx, bmg, m2x, bc}, w);
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
    for (int64_t k = 1; k < g; ++k) chan_accumulate(out[c], v[k * C + c]);
  }
  if (left > 0) {
    col_moments_rows(x + vrows * L, left, C, v);
    for (int64_t c = 0; c < C; ++c) chan_accumulate(out[c], v[c]);
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
    for (int64_t k = 1; k < g; ++k) chan_accumulate(out[c], v[k * C + c]);
  }
  if (left > 0) {
    col_co_moments_rows(dy + vrows * L, x + vrows * L, left, C, v);
    for (int64_t c = 0; c < C; ++c) chan_accumulate(out[c], v[c]);
  }
}

}  // namespace
}  // namespace kernels
}  // namespace instnorm
