// Group normalization and everything built on it: instance norm (groups =
// C), conditional instance norm (gamma/beta rows chosen per sample from a
// table), per-sample affine (FiLM, StyleGAN-style modulation, AdaIN's
// style statistics), and the `blend` term y = gamma*xhat + beta + blend*x
// (AdaIN's alpha). Both layouts: channels-first [N, C, S] and
// channels-last [N, S, C], S the product of the spatial dims.
//
// Statistics are taken per (sample, group of C/groups consecutive
// channels). gamma and beta are tables of `rows` rows of C: which row a
// sample uses is set by `affine`.
#pragma once
#include <cstdint>

#include "op.h"

namespace instnorm {
namespace ops {

// Why a group-norm descriptor's values do not fit together, or nullptr.
const char* group_check(int64_t c, int64_t groups, int64_t affine, int64_t rows, int64_t n, double eps);

enum AffineRows : int64_t {
  kPerChannel = 0,  // rows = 1: row 0 for every sample
  kPerSample = 1,   // rows = N: row n for sample n
  kConditional = 2  // rows = K: row condition[n] for sample n
};

// The scalars both passes share, read first (array lengths depend on them).
struct GroupShape {
  int64_t n, c, s, groups;
  bool channels_last;
  int64_t affine, rows;
  double blend, eps;

  int64_t numel() const { return sat_mul(n, c, s); }
  const char* check() const { return group_check(c, groups, affine, rows, n, eps); }
  void scalars(FieldVisitor& v) {
    v.dim("n", n);
    v.dim("c", c);
    v.dim("s", s);
    v.integer("groups", groups, 1, c);
    v.flag("channelsLast", channels_last);
    v.integer("affine", affine, kPerChannel, kConditional);
    v.dim("rows", rows);
    v.number("blend", blend);
    v.number("eps", eps);
  }
};

struct GroupNormForward : GroupShape {
  const float* x;
  float* y;
  const float* gamma;         // rows*C or null (= 1)
  const float* beta;          // rows*C or null (= 0)
  const int32_t* condition;   // N, with affine == kConditional
  float* mean;                // N*groups or null
  float* rstd;                // N*groups or null
  // Not call fields: AdaIN's per-sample affine in double (rows*C), used
  // instead of gamma/beta when set, so that a style deviation beyond the
  // float range still folds exactly into the coefficients.
  const double* gamma64;
  const double* beta64;

  double gamma_at(int64_t k) const { return gamma64 ? gamma64[k] : gamma ? gamma[k] : 1.0; }
  double beta_at(int64_t k) const { return beta64 ? beta64[k] : beta ? beta[k] : 0.0; }

  void fields(FieldVisitor& v) {
    scalars(v);
    v.in("x", x, numel(), Need::kRequired);
    v.out("out", y, numel(), Need::kRequired, {"x"});
    v.in("gamma", gamma, sat_mul(rows, c), Need::kOptional);
    v.in("beta", beta, sat_mul(rows, c), Need::kOptional);
    v.in("condition", condition, n, affine == kConditional ? Need::kRequired : Need::kOptional);
    v.out("mean", mean, sat_mul(n, groups), Need::kOptional);
    v.out("rstd", rstd, sat_mul(n, groups), Need::kOptional);
  }
};

struct GroupNormBackward : GroupShape {
  const float* dy;
  const float* x;
  float* dx;
  float* dgamma;              // rows*C: row sums of the samples using that row
  float* dbeta;               // rows*C
  const float* gamma;         // rows*C or null
  const int32_t* condition;   // N, with affine == kConditional
  const float* mean;          // N*groups or null (the mean is recomputed either way)
  const float* rstd;          // N*groups or null (then recomputed with eps)
  const double* gamma64;      // as GroupNormForward::gamma64

  double gamma_at(int64_t k) const { return gamma64 ? gamma64[k] : gamma ? gamma[k] : 1.0; }

  void fields(FieldVisitor& v) {
    scalars(v);
    v.in("dy", dy, numel(), Need::kRequired);
    v.in("x", x, numel(), Need::kRequired);
    v.out("dx", dx, numel(), Need::kRequired, {"dy", "x"});
    v.out("dgamma", dgamma, sat_mul(rows, c), Need::kRequired);
    v.out("dbeta", dbeta, sat_mul(rows, c), Need::kRequired);
    v.in("gamma", gamma, sat_mul(rows, c), Need::kOptional);
    v.in("condition", condition, n, affine == kConditional ? Need::kRequired : Need::kOptional);
    v.in("mean", mean, sat_mul(n, groups), Need::kOptional);
    v.in("rstd", rstd, sat_mul(n, groups), Need::kOptional);
  }
};

void group_norm_forward(const Context& ctx, const GroupNormForward& d);
void group_norm_backward(const Context& ctx, const GroupNormBackward& d);

}  // namespace ops
}  // namespace instnorm
