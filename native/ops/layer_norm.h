// Layer normalization (PyTorch/ONNX semantics): R rows of L floats, each
// row normalized over itself, then an elementwise affine of length L.
// The transformer case ([batch, tokens, hidden], normalized over hidden) is
// many short rows; each row is read while it is in L1.
#pragma once
#include <cstdint>

#include "../kernels/microkernels.h"

namespace instnorm {
namespace ops {

struct LayerNormForward {
  const float* x;      // R*L
  float* y;            // R*L, may equal x
  int64_t rows, len;
  const float* gamma;  // L or nullptr (= 1)
  const float* beta;   // L or nullptr (= 0)
  double eps;
  float* mean;         // R or nullptr
  float* rstd;         // R or nullptr
  int threads;
};

struct LayerNormBackward {
  const float* dy;     // R*L
  const float* x;      // R*L
  float* dx;           // R*L, may equal dy or x
  float* dgamma;       // L
  float* dbeta;        // L
  int64_t rows, len;
  const float* gamma;  // L or nullptr
  const float* mean;   // R or nullptr (the mean is recomputed either way)
  const float* rstd;   // R or nullptr (then recomputed with eps)
  double eps;
  int threads;
};

void layer_norm_forward(const kernels::KernelTable& k, const LayerNormForward& a);
void layer_norm_backward(const kernels::KernelTable& k, const LayerNormBackward& a);

}  // namespace ops
}  // namespace instnorm
