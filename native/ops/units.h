// A unit is one (sample, channel) feature map. These run one statistics
// pass or one apply pass over every unit of a tensor, in either layout:
// channels-first [N, C, S] (unit n*C + c is a contiguous run of S floats)
// or channels-last [N, S, C] (unit n*C + c is column c of sample n). The
// ops combine them with the folding in fold.h when statistics must be
// merged across units before anything is written (batch norm, group norm
// channels-last, AdaIN's style, moments).
//
// Results do not depend on the thread count: each unit's statistics are
// the in-order merge of fixed pieces (64Ki-float chunks of a run, or
// blocks of whole rows), whichever thread computed them.
#pragma once
#include <cstdint>

#include "fold.h"
#include "op.h"

namespace instnorm {
namespace ops {

struct Shape {
  int64_t n, c, s;
  bool channels_last;
  int64_t units() const { return n * c; }
  int64_t numel() const { return n * c * s; }
  int64_t sample_numel() const { return c * s; }
};

// out[u] for every unit u = n*C + c.
void unit_moments(const Context& ctx, const Shape& sh, const float* x, kernels::Moments* out);
// unit_moments accumulated in double (moments()'s accuracy: float64-level,
// the same bits on every ISA).
void unit_moments_f64(const Context& ctx, const Shape& sh, const float* x, kernels::Moments* out);
void unit_co_moments(const Context& ctx, const Shape& sh, const float* dy, const float* x,
                     kernels::CoMoments* out);
// y = (x - sub[u]) * scale[u] + shift[u]. y may be x. `footprint`: the
// elements of the whole op when this is a part of it (one sample of
// several), for the choice of non-temporal stores (policy.h: what matters
// is whether the op's inputs and outputs together stay in cache); 0 = sh's.
void unit_affine(const Context& ctx, const Shape& sh, const float* x, float* y, AffineCoef co,
                 int64_t footprint = 0);
// dx = a[u] (dy - dy_sub[u]) + b[u] (x - x_sub[u]) + c[u]. dx may be dy or x.
void unit_backward_apply(const Context& ctx, const Shape& sh, const float* dy, const float* x, float* dx,
                         GradCoef co, int64_t footprint = 0);

}  // namespace ops
}  // namespace instnorm
