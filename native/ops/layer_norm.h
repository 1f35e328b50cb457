// Layer normalization (PyTorch/ONNX semantics): R rows of L floats, each
// row normalized over itself, then an elementwise affine of length L. The
// transformer case ([batch, tokens, hidden], normalized over hidden) is
// many short rows; each row is read while it is in L1.
#pragma once
#include <cstdint>

#include "op.h"
#include "rows.h"

namespace instnorm {
namespace ops {

struct LayerNormForward : RowShape {
  const float* x;
  float* y;
  const float* gamma;  // L or null (= 1)
  const float* beta;   // L or null (= 0)
  float* mean;         // R or null
  float* rstd;         // R or null

  void fields(FieldVisitor& v) {
    scalars(v);
    v.in("x", x, numel(), Need::kRequired);
    v.out("out", y, numel(), Need::kRequired, {"x"});
    v.in("gamma", gamma, len, Need::kOptional);
    v.in("beta", beta, len, Need::kOptional);
    v.out("mean", mean, rows, Need::kOptional);
    v.out("rstd", rstd, rows, Need::kOptional);
  }
};

struct LayerNormBackward : RowShape {
  const float* dy;
  const float* x;
  float* dx;
  float* dgamma;       // L
  float* dbeta;        // L
  const float* gamma;  // L or null
  const float* mean;   // R or null (the mean is recomputed either way)
  const float* rstd;   // R or null (then recomputed with eps)

  void fields(FieldVisitor& v) {
    scalars(v);
    v.in("dy", dy, numel(), Need::kRequired);
    v.in("x", x, numel(), Need::kRequired);
    v.out("dx", dx, numel(), Need::kRequired, {"dy", "x"});
    v.out("dgamma", dgamma, len, Need::kRequired);
    v.out("dbeta", dbeta, len, Need::kRequired);
    v.in("gamma", gamma, len, Need::kOptional);
    v.in("mean", mean, rows, Need::kOptional);
    v.in("rstd", rstd, rows, Need::kOptional);
  }
};

void layer_norm_forward(const Context& ctx, const LayerNormForward& d);
void layer_norm_backward(const Context& ctx, const LayerNormBackward& d);

}  // namespace ops
}  // namespace instnorm
