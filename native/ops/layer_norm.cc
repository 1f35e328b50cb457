#include "layer_norm.h"

#include <cmath>
#include <vector>

#include "policy.h"
#include "stats.h"

namespace instnorm {
namespace ops {
namespace {

using kernels::KernelTable;
using kernels::Moments;

// xhat = (x - sub) * scale + shift for one row.
struct RowNorm {
  float sub, scale, shift;
  double rstd;
};

RowNorm row_norm(const Moments& mo, double rstd) {
  const SplitMean s = split(mo.mean);
  // A constant row has xhat = 0 exactly (also with eps = 0, rstd = inf).
  if (mo.m2 == 0.0) return {s.hi, 0.0f, 0.0f, rstd};
  return {s.hi, static_cast<float>(rstd), static_cast<float>(-s.lo * rstd), rstd};
}

// Rows per task: about 256Ki floats. The backward's dgamma/dbeta partial
// sums are kept per block of rows (fixed by the shape, not the thread
// count) and added in block order, so results are bit-identical for any
// number of threads. Capped so no fp32 accumulator sums too many rows.
int64_t rows_per_block(int64_t len) {
  int64_t r = 4 * kChunk / len;
  if (r > 1024) r = 1024;
  return r < 1 ? 1 : r;
}

// gamma/beta, or ones/zeros when absent (the kernels always take arrays).
const float* or_fill(const float* p, std::vector<float>& v, int64_t n, float fill) {
  if (p) return p;
  v.assign(static_cast<size_t>(n), fill);
  return v.data();
}

}  // namespace

void layer_norm_forward(const KernelTable& k, const LayerNormForward& a) {
  const int64_t rb = rows_per_block(a.len), blocks = (a.rows + rb - 1) / rb;
  const bool stream = streaming(a.rows * a.len, rb * a.len);
  thread_local std::vector<float> ones, zeros;
  const float* g = or_fill(a.gamma, ones, a.len, 1.0f);
  const float* b = or_fill(a.beta, zeros, a.len, 0.0f);
  run_tasks(a.threads, a.rows * a.len, blocks, [&](int64_t t) {
    const int64_t r1 = (t + 1) * rb < a.rows ? (t + 1) * rb : a.rows;
    for (int64_t r = t * rb; r < r1; ++r) {
      const float* x = a.x + r * a.len;
      const Moments mo = plane_moments(k, x, a.len);
      const RowNorm n = row_norm(mo, rstd_of(mo.m2, mo.count, a.eps));
      if (a.mean) a.mean[r] = static_cast<float>(mo.mean);
      if (a.rstd) a.rstd[r] = static_cast<float>(n.rstd);
      k.affine_elementwise(x, a.y + r * a.len, a.len, n.sub, n.scale, n.shift, g, b, stream);
    }
  });
}

void layer_norm_backward(const KernelTable& k, const LayerNormBackward& a) {
  const int64_t len = a.len, rb = rows_per_block(len), blocks = (a.rows + rb - 1) / rb;
  const bool stream = streaming(a.rows * len, rb * len);
  thread_local std::vector<float> ones, partial_scratch;
  const float* g = or_fill(a.gamma, ones, len, 1.0f);
  // Per block: dgamma[len], dbeta[len]. One block accumulates straight
  // into the outputs.
  float* partial = nullptr;
  if (blocks > 1) {
    partial_scratch.assign(static_cast<size_t>(2 * blocks * len), 0.0f);
    partial = partial_scratch.data();
  } else {
    for (int64_t i = 0; i < len; ++i) a.dgamma[i] = a.dbeta[i] = 0.0f;
  }
  const bool saved = a.mean && a.rstd;
  run_tasks(a.threads, a.rows * len, blocks, [&](int64_t t) {
    float* dg = partial ? partial + 2 * t * len : a.dgamma;
    float* db = partial ? dg + len : a.dbeta;
    const int64_t r1 = (t + 1) * rb < a.rows ? (t + 1) * rb : a.rows;
    for (int64_t r = t * rb; r < r1; ++r) {
      const int64_t off = r * len;
      // The mean is recomputed exactly (a saved float32 mean has lost
      // precision that matters at large offsets); the row is in cache for
      // the two passes that follow.
      const Moments mo = plane_moments(k, a.x + off, len);
      const double rstd = saved ? static_cast<double>(a.rstd[r]) : rstd_of(mo.m2, mo.count, a.eps);
      const RowNorm n = row_norm(mo, rstd);
      const kernels::RowSums s =
          k.row_backward_reduce(a.dy + off, a.x + off, g, len, n.sub, n.scale, n.shift, dg, db);
      // dx = rstd (g dy - mean(g dy) - xhat mean(g dy xhat))
      double k1 = rstd, k2 = -rstd * s.g_dy / mo.count, k3 = -rstd * s.g_dy_xhat / mo.count;
      if (std::isinf(rstd)) k1 = k2 = k3 = 0.0;
      k.row_backward_apply(a.dy + off, a.x + off, g, a.dx + off, len, n.sub, n.scale, n.shift,
                           static_cast<float>(k1), static_cast<float>(k2), static_cast<float>(k3), stream);
    }
  });
  if (!partial) return;
  // Block by block (contiguous reads; walking each column across the blocks
  // instead strides by 2*len floats and was 10x slower for long rows).
  thread_local std::vector<double> sum_scratch;
  sum_scratch.assign(static_cast<size_t>(2 * len), 0.0);
  double* sum = sum_scratch.data();
  for (int64_t t = 0; t < blocks; ++t) {
    const float* p = partial + 2 * t * len;
    for (int64_t i = 0; i < 2 * len; ++i) sum[i] += p[i];
  }
  for (int64_t i = 0; i < len; ++i) {
    a.dgamma[i] = static_cast<float>(sum[i]);
    a.dbeta[i] = static_cast<float>(sum[len + i]);
  }
}

}  // namespace ops
}  // namespace instnorm
