// What the two layouts of group norm share: which table row of gamma/beta
// each sample uses, and how per-unit gradient shares become dgamma/dbeta.
#pragma once
#include <cstdint>
#include <stdexcept>

#include "group_norm.h"
#include "scratch.h"

namespace instnorm {
namespace ops {

class SampleRows {
 public:
  // The condition is read once, here, and checked: the op never indexes a
  // table with a value it has not checked (the caller's memory may be a
  // SharedArrayBuffer that another thread writes).
  SampleRows(int64_t affine, int64_t n, int64_t rows, const int32_t* condition)
      : affine_(affine), row_(affine == kConditional ? n : 0) {
    if (affine != kConditional) return;
    for (int64_t i = 0; i < n; ++i) {
      const int32_t r = condition[i];
      if (r < 0 || r >= rows) throw std::invalid_argument("condition values must be in [0, K)");
      row_[i] = r;
    }
  }
  int64_t operator()(int64_t sample) const {
    return affine_ == kPerChannel ? 0 : affine_ == kPerSample ? sample : row_[sample];
  }

 private:
  int64_t affine_;
  Scratch<int32_t> row_;
};

// dgamma/dbeta (rows*C floats) from per-unit shares (N*C doubles): each
// row sums the shares of the samples that used it, in sample order, in
// double (a row no sample used is 0).
void reduce_rows(const double* share_g, const double* share_b, int64_t n, int64_t c, int64_t rows,
                 const SampleRows& row_of, float* dgamma, float* dbeta);

// Channels-last implementations (group_norm_nhwc.cc).
void group_norm_forward_nhwc(const Context& ctx, const GroupNormForward& d, const SampleRows& row_of);
void group_norm_backward_nhwc(const Context& ctx, const GroupNormBackward& d, const SampleRows& row_of);

}  // namespace ops
}  // namespace instnorm
