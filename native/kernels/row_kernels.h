// Row kernels (layer norm): xhat = (x - sub) * scale + shift over one row,
// with elementwise coefficients g and b.
#pragma once
#include "kernel_common.h"

namespace instnorm {
namespace kernels {
namespace {

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
}  // namespace kernels
}  // namespace instnorm
