// Column family, part 1: the channel tiles that the column statistics
// kernels (column_stats.h) walk down the rows of a channels-last block
// (rows x C, row stride C, column c is channel c).
//
// Vectors run across columns; a channel tile of NV vectors
// (NV * W columns) keeps its accumulators in registers while the loop walks
// its rows. The last tile of a row may be narrower: kTail marks that its
// last vector holds only `tail` columns, loaded with partial (masked) loads,
// so nothing past column C - 1 of the last row is read. Lanes of different
// columns never mix, so whatever a partial load puts in the unused lanes is
// never looked at. (Walking the block in memory order instead, with the
// accumulators in memory, reads DRAM ~10% faster for C of 64-256 but runs
// at half the speed from cache: two stores per vector.)
#pragma once
#include "kernel_common.h"

namespace instnorm {
namespace kernels {
namespace {

constexpr int64_t kColBlock = 256;   // rows per statistics block
constexpr int64_t kColSub = 32;      // rows per register partial sum
constexpr int64_t kPivotRows = 16;   // rows averaged for the first pivot

// A compile-time number passed as a value (with_tile() picks the instantiation).
template <int N>
struct Num {
  static constexpr int value = N;
};

// Calls f(Num<NV>(), Num<kTail>(), tail) for a tile of `cols` columns
// (1 <= cols <= kMaxNV * W): NV = ceil(cols / W), the last vector holding
// `tail` columns (W when full).
template <int kMaxNV, class F>
inline void with_tile(int64_t cols, F f) {
  const int nv = static_cast<int>((cols + W - 1) / W);
  const int tail = static_cast<int>(cols - static_cast<int64_t>(nv - 1) * W);
  const bool part = tail != W;
  if (nv == 1) {
    if (part) f(Num<1>(), Num<1>(), tail); else f(Num<1>(), Num<0>(), tail);
  } else if constexpr (kMaxNV >= 2) {
    if (nv == 2) {
      if (part) f(Num<2>(), Num<1>(), tail); else f(Num<2>(), Num<0>(), tail);
    } else if constexpr (kMaxNV >= 4) {
      if (nv == 3) {
        if (part) f(Num<3>(), Num<1>(), tail); else f(Num<3>(), Num<0>(), tail);
      } else {
        if (part) f(Num<4>(), Num<1>(), tail); else f(Num<4>(), Num<0>(), tail);
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

// Accumulators of one slot of the joint statistics (see CoSums, plane_kernels.h).
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

}  // namespace
}  // namespace kernels
}  // namespace instnorm
