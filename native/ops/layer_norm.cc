#include "layer_norm.h"

#include <cmath>

#include "exact.h"
#include "fold.h"
#include "prefetch.h"
#include "rows.h"
#include "stats.h"

namespace instnorm {
namespace ops {
namespace {

using kernels::Moments;

// xhat = (x - sub) * scale + shift for one row.
struct RowNorm {
  float sub, scale, shift;
};

const int64_t kFirst = 0;  // the one run of a row, for Runs

// A row outside the float32 kernels' range (exact.h), forward: statistics
// and outputs in double.
void exact_row_forward(const LayerNormForward& a, int64_t r, const float* g, const float* b) {
  const int64_t len = a.len;
  const float* x = a.x + r * len;
  float* y = a.y + r * len;
  const Moments mo = exact_moments(x, Runs{&kFirst, 1, 1, len});
  const double rstd = rstd_of(mo.m2, mo.count, a.eps);
  const double scale = mo.m2 == 0.0 ? 0.0 : rstd;  // a constant row has xhat = 0
  if (a.mean) a.mean[r] = static_cast<float>(mo.mean);
  if (a.rstd) a.rstd[r] = static_cast<float>(rstd);
  for (int64_t i = 0; i < len; ++i) y[i] = static_cast<float>((x[i] - mo.mean) * scale * g[i] + b[i]);
}

// The same for the backward; dg/db are the block's float accumulators.
void exact_row_backward(const LayerNormBackward& a, int64_t r, const float* g, float* dg, float* db) {
  const int64_t len = a.len, off = r * len;
  const float *x = a.x + off, *dy = a.dy + off;
  float* dx = a.dx + off;
  const Moments mo = exact_moments(x, Runs{&kFirst, 1, 1, len});
  const double rstd = a.rstd ? static_cast<double>(a.rstd[r]) : rstd_of(mo.m2, mo.count, a.eps);
  if (std::isinf(rstd)) {  // constant row, eps = 0: no normalization gradient
    for (int64_t i = 0; i < len; ++i) {
      db[i] += dy[i];  // (before dx, which may be dy)
      dx[i] = 0.0f;
    }
    return;
  }
  const double scale = mo.m2 == 0.0 ? 0.0 : rstd;
  double sg = 0.0, sgx = 0.0;
  for (int64_t i = 0; i < len; ++i) {
    const double gd = static_cast<double>(g[i]) * dy[i];
    sg += gd;
    sgx += gd * (x[i] - mo.mean) * scale;
  }
  const double n = static_cast<double>(len);
  for (int64_t i = 0; i < len; ++i) {
    const double xh = (x[i] - mo.mean) * scale, v = dy[i];  // (read before dx, which may be dy or x)
    dg[i] += static_cast<float>(v * xh);
    db[i] += static_cast<float>(v);
    dx[i] = static_cast<float>(rstd * (static_cast<double>(g[i]) * v - sg / n - xh * sgx / n));
  }
}

RowNorm row_norm(const Moments& mo, double rstd) {
  const SplitMean s = split(mo.mean);
  // A constant row has xhat = 0 exactly (also with eps = 0, rstd = inf).
  if (mo.m2 == 0.0) return {s.hi, 0.0f, 0.0f};
  return {s.hi, static_cast<float>(rstd), static_cast<float>(-s.lo * rstd)};
}

}  // namespace

void layer_norm_forward(const Context& ctx, const LayerNormForward& a) {
  const int64_t rb = rows_per_block(a.len), blocks = (a.rows + rb - 1) / rb;
  const bool stream = streaming(sat_mul(a.rows, a.len), rb * a.len);
  const ParamOr g(a.gamma, a.len, 1.0f), b(a.beta, a.len, 0.0f);
  run_tasks(ctx.threads, sat_mul(a.rows, a.len), blocks, [&](int64_t t) {
    const int64_t r1 = (t + 1) * rb < a.rows ? (t + 1) * rb : a.rows;
    for (int64_t r = t * rb; r < r1; ++r) {
      const float* x = a.x + r * a.len;
      const Moments mo = plane_moments(ctx.k, x, a.len);
      if (needs_exact(mo.m2, mo.count, mo.mean, [&] { return all_zero(x, a.len); })) {
        exact_row_forward(a, r, g.data(), b.data());
        continue;
      }
      if (r + 1 < a.rows) prefetch_run(x + a.len, a.len);  // read during this row's output pass
      const double rstd = rstd_of(mo.m2, mo.count, a.eps);
      const RowNorm n = row_norm(mo, rstd);
      if (a.mean) a.mean[r] = static_cast<float>(mo.mean);
      if (a.rstd) a.rstd[r] = static_cast<float>(rstd);
      ctx.k.affine_elementwise(x, a.y + r * a.len, a.len, n.sub, n.scale, n.shift, g.data(), b.data(), stream);
    }
  });
}

void layer_norm_backward(const Context& ctx, const LayerNormBackward& a) {
  const int64_t len = a.len, rb = rows_per_block(len), blocks = (a.rows + rb - 1) / rb;
  const bool stream = streaming(sat_mul(a.rows, len), rb * len);
  const ParamOr g(a.gamma, len, 1.0f);
  float* const outs[2] = {a.dgamma, a.dbeta};
  const BlockSums sums(blocks, len, 2, outs);
  run_tasks(ctx.threads, sat_mul(a.rows, len), blocks, [&](int64_t t) {
    float* dg = sums.acc(0, t);
    float* db = sums.acc(1, t);
    const int64_t r1 = (t + 1) * rb < a.rows ? (t + 1) * rb : a.rows;
    for (int64_t r = t * rb; r < r1; ++r) {
      const int64_t off = r * len;
      // The mean is recomputed exactly (a saved float32 mean has lost
      // precision that matters at large offsets); the row is in cache for
      // the two passes that follow.
      const Moments mo = plane_moments(ctx.k, a.x + off, len);
      if (needs_exact(mo.m2, mo.count, mo.mean, [&] { return all_zero(a.x + off, len); }) ||
          (a.rstd && rstd_needs_exact(a.rstd[r]))) {
        exact_row_backward(a, r, g.data(), dg, db);
        continue;
      }
      const double rstd = a.rstd ? static_cast<double>(a.rstd[r]) : rstd_of(mo.m2, mo.count, a.eps);
      const RowNorm n = row_norm(mo, rstd);
      const kernels::RowSums s =
          ctx.k.row_backward_reduce(a.dy + off, a.x + off, g.data(), len, n.sub, n.scale, n.shift, dg, db);
      // dx = rstd (g dy - mean(g dy) - xhat mean(g dy xhat))
      double k1 = rstd, k2 = -rstd * s.g_dy / mo.count, k3 = -rstd * s.g_dy_xhat / mo.count;
      if (std::isinf(rstd)) k1 = k2 = k3 = 0.0;
      ctx.k.row_backward_apply(a.dy + off, a.x + off, g.data(), a.dx + off, len, n.sub, n.scale, n.shift,
                               static_cast<float>(k1), static_cast<float>(k2), static_cast<float>(k3), stream);
    }
  });
  sums.finish();
}

INSTNORM_OP("layerNorm", LayerNormForward, layer_norm_forward);
INSTNORM_OP("layerNormBackward", LayerNormBackward, layer_norm_backward);

}  // namespace ops
}  // namespace instnorm
