// Batch normalization (PyTorch F.batch_norm semantics): statistics per
// channel over (N, spatial), in either layout. Training normalizes with the
// batch's statistics (or given ones, for a synchronised batch norm) and
// updates the running statistics; inference is one affine pass with them.
#pragma once
#include <cstdint>

#include "op.h"

namespace instnorm {
namespace ops {

// The scalars both passes start with.
struct BatchShape {
  int64_t n, c, s;
  bool channels_last, training;
  double eps;

  int64_t numel() const { return sat_mul(n, c, s); }
  void scalars(FieldVisitor& v) {
    v.dim("n", n);
    v.dim("c", c);
    v.dim("s", s);
    v.flag("channelsLast", channels_last);
    v.flag("training", training);
    v.number("eps", eps);
  }
};

struct BatchNormForward : BatchShape {
  bool have_stats, unbiased_running;
  double stats_count, momentum;
  const float* x;
  float* y;
  const float* gamma;        // C or null
  const float* beta;         // C or null
  const double* stats_mean;  // C, with have_stats
  const double* stats_var;   // C, biased, with have_stats
  float* running_mean;       // C or null; read in inference, updated in training
  float* running_var;        // C or null
  float* mean;               // C or null: the mean used
  float* rstd;               // C or null: the 1/sqrt(var + eps) used

  const char* check() const;
  void fields(FieldVisitor& v) {
    scalars(v);
    v.flag("haveStats", have_stats);
    v.flag("unbiasedRunning", unbiased_running);
    v.number("statsCount", stats_count);
    v.number("momentum", momentum);
    v.in("x", x, numel(), Need::kRequired);
    v.out("out", y, numel(), Need::kRequired, {"x"});
    v.in("gamma", gamma, c, Need::kOptional);
    v.in("beta", beta, c, Need::kOptional);
    v.in("statsMean", stats_mean, c, have_stats ? Need::kRequired : Need::kOptional);
    v.in("statsVar", stats_var, c, have_stats ? Need::kRequired : Need::kOptional);
    v.inout("runningMean", running_mean, c, Need::kOptional, training);
    v.inout("runningVar", running_var, c, Need::kOptional, training);
    v.out("mean", mean, c, Need::kOptional);
    v.out("rstd", rstd, c, Need::kOptional);
  }
};

struct BatchNormBackward : BatchShape {
  const float* dy;
  const float* x;
  float* dx;
  float* dgamma;              // C
  float* dbeta;               // C
  const float* gamma;         // C or null
  const float* mean;          // C or null (training: saved; the mean is recomputed either way)
  const float* rstd;          // C or null (training: saved, else recomputed with eps)
  const float* running_mean;  // C, inference
  const float* running_var;   // C, inference

  const char* check() const;
  void fields(FieldVisitor& v) {
    scalars(v);
    v.in("dy", dy, numel(), Need::kRequired);
    v.in("x", x, numel(), Need::kRequired);
    v.out("dx", dx, numel(), Need::kRequired, {"dy", "x"});
    v.out("dgamma", dgamma, c, Need::kRequired);
    v.out("dbeta", dbeta, c, Need::kRequired);
    v.in("gamma", gamma, c, Need::kOptional);
    v.in("mean", mean, c, Need::kOptional);
    v.in("rstd", rstd, c, Need::kOptional);
    v.in("runningMean", running_mean, c, training ? Need::kOptional : Need::kRequired);
    v.in("runningVar", running_var, c, training ? Need::kOptional : Need::kRequired);
  }
};

void batch_norm_forward(const Context& ctx, const BatchNormForward& d);
void batch_norm_backward(const Context& ctx, const BatchNormBackward& d);

}  // namespace ops
}  // namespace instnorm
