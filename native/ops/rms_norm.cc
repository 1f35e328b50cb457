// RMS normalization (Llama-style transformers): R rows of L floats,
// y = gamma * x / sqrt(mean(x^2) + eps), no mean subtraction, no beta. It
// runs on the layer-norm row kernels: mean(x^2) = M2/L + mean^2 from the
// row's moments (two non-negative terms, so nothing cancels), and
// xhat = x * rstd is the row kernels' (x - sub) * scale + shift with
// sub = shift = 0.
#include <cmath>

#include "exact.h"
#include "op.h"
#include "rows.h"
#include "stats.h"

namespace instnorm {
namespace ops {

struct RmsNormForward : RowShape {
  const float* x;
  float* y;
  const float* gamma;  // L or null (= 1)
  float* rstd;         // R or null

  void fields(FieldVisitor& v) {
    scalars(v);
    v.in("x", x, numel(), Need::kRequired);
    v.out("out", y, numel(), Need::kRequired, {"x"});
    v.in("gamma", gamma, len, Need::kOptional);
    v.out("rstd", rstd, rows, Need::kOptional);
  }
};

struct RmsNormBackward : RowShape {
  const float* dy;
  const float* x;
  float* dx;
  float* dgamma;       // L
  const float* gamma;  // L or null
  const float* rstd;   // R or null (then recomputed with eps)

  void fields(FieldVisitor& v) {
    scalars(v);
    v.in("dy", dy, numel(), Need::kRequired);
    v.in("x", x, numel(), Need::kRequired);
    v.out("dx", dx, numel(), Need::kRequired, {"dy", "x"});
    v.out("dgamma", dgamma, len, Need::kRequired);
    v.in("gamma", gamma, len, Need::kOptional);
    v.in("rstd", rstd, rows, Need::kOptional);
  }
};

namespace {

// A row's mean of squares from its moments.
double mean_square(const kernels::Moments& mo) { return mo.m2 / mo.count + mo.mean * mo.mean; }

// xhat's scale: rstd, or 0 for a row of zeros (xhat = 0 for every eps,
// also eps = 0 where rstd is infinite).
float xhat_scale(double ms, double rstd) { return ms == 0.0 ? 0.0f : static_cast<float>(rstd); }

// Mean of squares in double, for rows outside the float32 kernels' range.
double exact_mean_square(const float* x, int64_t len) {
  double s = 0.0;
  for (int64_t i = 0; i < len; ++i) s += static_cast<double>(x[i]) * x[i];
  return s / static_cast<double>(len);
}

// dx = r (g dy - xhat mean(g dy xhat)), xhat = x r, in double; dgamma
// into the block's float accumulator. r = 0 stands for an infinite r (no
// gradient); `zero`: a row of zeros (xhat = 0).
void exact_rms_row(const float* dy, const float* x, const float* g, float* dx, int64_t len, double r, bool zero,
                   float* dg) {
  const double scale = zero ? 0.0 : r;
  double q = 0.0;
  for (int64_t i = 0; i < len; ++i) q += static_cast<double>(g[i]) * dy[i] * (x[i] * scale);
  const double k = q / static_cast<double>(len);
  for (int64_t i = 0; i < len; ++i) {
    const double xh = x[i] * scale, v = dy[i];  // (read before dx, which may be dy or x)
    dg[i] += static_cast<float>(v * xh);
    dx[i] = static_cast<float>(r * (static_cast<double>(g[i]) * v - xh * k));
  }
}

// needs_exact() on the row's mean square (its scale, not its spread).
bool row_needs_exact(double ms) { return needs_exact(ms, 1.0); }

}  // namespace

void rms_norm_forward(const Context& ctx, const RmsNormForward& a) {
  const int64_t rb = rows_per_block(a.len), blocks = (a.rows + rb - 1) / rb;
  const bool stream = streaming(sat_mul(a.rows, a.len), rb * a.len);
  const ParamOr g(a.gamma, a.len, 1.0f), zero(nullptr, a.len, 0.0f);
  run_tasks(ctx.threads, sat_mul(a.rows, a.len), blocks, [&](int64_t t) {
    const int64_t r1 = (t + 1) * rb < a.rows ? (t + 1) * rb : a.rows;
    for (int64_t r = t * rb; r < r1; ++r) {
      const float* x = a.x + r * a.len;
      double ms = mean_square(plane_moments(ctx.k, x, a.len));
      const bool exact = row_needs_exact(ms) && !(ms == 0.0 && all_zero(x, a.len));
      if (exact) ms = exact_mean_square(x, a.len);
      const double rstd = 1.0 / std::sqrt(ms + a.eps);
      if (a.rstd) a.rstd[r] = static_cast<float>(rstd);
      if (exact) {
        const double scale = ms == 0.0 ? 0.0 : rstd;
        float* y = a.y + r * a.len;
        for (int64_t i = 0; i < a.len; ++i) y[i] = static_cast<float>(x[i] * scale * g.data()[i]);
        continue;
      }
      ctx.k.affine_elementwise(x, a.y + r * a.len, a.len, 0.0f, xhat_scale(ms, rstd), 0.0f, g.data(), zero.data(),
                               stream);
    }
  });
}

void rms_norm_backward(const Context& ctx, const RmsNormBackward& a) {
  const int64_t len = a.len, rb = rows_per_block(len), blocks = (a.rows + rb - 1) / rb;
  const bool stream = streaming(sat_mul(a.rows, len), rb * len);
  const ParamOr g(a.gamma, len, 1.0f);
  // The row kernel also sums dy per column (a dbeta RMS norm does not
  // have): those sums go to scratch.
  Scratch<float> unused(len);
  float* const outs[2] = {a.dgamma, unused.data()};
  const BlockSums sums(blocks, len, 2, outs);
  run_tasks(ctx.threads, sat_mul(a.rows, len), blocks, [&](int64_t t) {
    const int64_t r1 = (t + 1) * rb < a.rows ? (t + 1) * rb : a.rows;
    for (int64_t r = t * rb; r < r1; ++r) {
      const int64_t off = r * len;
      double ms = mean_square(plane_moments(ctx.k, a.x + off, len));
      const bool exact = (row_needs_exact(ms) && !(ms == 0.0 && all_zero(a.x + off, len))) ||
                         (a.rstd && rstd_needs_exact(a.rstd[r]));
      if (exact) ms = exact_mean_square(a.x + off, len);
      const double rstd = a.rstd ? static_cast<double>(a.rstd[r]) : 1.0 / std::sqrt(ms + a.eps);
      const bool undefined = std::isinf(rstd);  // a row of zeros with eps = 0
      if (exact) {
        exact_rms_row(a.dy + off, a.x + off, g.data(), a.dx + off, len, undefined ? 0.0 : rstd, ms == 0.0,
                      sums.acc(0, t));
        continue;
      }
      const float scale = undefined ? 0.0f : static_cast<float>(rstd);
      const kernels::RowSums s = ctx.k.row_backward_reduce(a.dy + off, a.x + off, g.data(), len, 0.0f, scale, 0.0f,
                                                           sums.acc(0, t), sums.acc(1, t));
      // dx = rstd (g dy - xhat mean(g dy xhat))
      const double k1 = undefined ? 0.0 : rstd, k3 = undefined ? 0.0 : -rstd * s.g_dy_xhat / static_cast<double>(len);
      ctx.k.row_backward_apply(a.dy + off, a.x + off, g.data(), a.dx + off, len, 0.0f, scale, 0.0f,
                               static_cast<float>(k1), 0.0f, static_cast<float>(k3), stream);
    }
  });
  sums.finish();
}

INSTNORM_OP("rmsNorm", RmsNormForward, rms_norm_forward);
INSTNORM_OP("rmsNormBackward", RmsNormBackward, rms_norm_backward);

}  // namespace ops
}  // namespace instnorm
