// Column family, part 3: per-column affine maps of a channels-last block
// (col_affine, col_backward_apply).
#pragma once
#include "kernel_common.h"

namespace instnorm {
namespace kernels {
namespace {

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
INSTNORM_STORE_LOOP inline void col_periodic(float* out, int64_t n, int64_t C, bool stream, F f, FTail f_tail) {
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

// Wide rows (C > kColExt), and rows of whole vectors (C % W == 0, where
// the flat walk's coefficient index and extended arrays cost more
// instructions than the loop over a row's vectors; not when streaming to
// an unaligned output, whose stores col_periodic() aligns): row by row,
// coefficients loaded straight from the arrays (they stay in L1), the last
// vector of each row partial.
// f(off, j) is the vector for columns [j, j + W) of the row at flat offset
// off, f_tail(off, j, r) for its last r < W columns. Non-temporal stores
// only when every full vector is aligned.
inline bool by_rows(const float* out, int64_t C, bool stream) {
  if (C > kColExt) return true;
  return C % W == 0 && (!stream || reinterpret_cast<uintptr_t>(out) % (sizeof(float) * W) == 0);
}

template <class F, class FTail>
INSTNORM_STORE_LOOP inline void col_rows(float* out, int64_t rows, int64_t C, bool stream, F f, FTail f_tail) {
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
  if (by_rows(y, C, stream)) {
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
  if (by_rows(dx, C, stream)) {
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

}  // namespace
}  // namespace kernels
}  // namespace instnorm
