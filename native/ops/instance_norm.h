// Instance normalization over [N, C, M] (M = product of the spatial dims),
// forward and backward, on caller-owned memory. Pure C++: the binding
// unwraps JS values into these arguments; shapes and lengths were validated
// by the facade and re-checked by the binding before they get here.
#pragma once
#include <cstdint>

#include "../kernels/microkernels.h"

namespace instnorm {
namespace ops {

struct InstanceNormForward {
  const float* x;      // N*C*M
  float* y;            // N*C*M, may equal x
  int64_t n, c, m;
  const float* gamma;  // C or nullptr (= 1)
  const float* beta;   // C or nullptr (= 0)
  double eps;
  float* mean;         // N*C or nullptr
  float* rstd;         // N*C or nullptr
  int threads;         // >= 1
};

struct InstanceNormBackward {
  const float* dy;     // N*C*M
  const float* x;      // N*C*M
  float* dx;           // N*C*M, may equal dy or x
  float* dgamma;       // C
  float* dbeta;        // C
  int64_t n, c, m;
  const float* gamma;  // C or nullptr (= 1)
  const float* mean;   // N*C or nullptr (then recomputed from x with eps)
  const float* rstd;   // N*C or nullptr
  double eps;
  int threads;         // >= 1
};

// Below this many elements a call stays on the calling thread: waking the
// pool costs ~15 us on the development VM, and 2 threads only beat 1 from
// about 256Ki elements (1 MiB) on (measured: 1x4xM forward, 1 vs 2 threads,
// 16Ki: 4.8 vs 17 us; 64Ki: 15 vs 18 us; 128Ki: 32 vs 34 us; 256Ki: 55 vs 40 us).
constexpr int64_t kParallelMinElements = int64_t{1} << 18;

// Results are bit-identical for every thread count: each plane's statistics
// are always the in-order merge of its fixed chunks (stats.h), whichever
// threads computed them.
void instance_norm_forward(const kernels::KernelTable& k,
                           const InstanceNormForward& a);
void instance_norm_backward(const kernels::KernelTable& k,
                            const InstanceNormBackward& a);

}  // namespace ops
}  // namespace instnorm
