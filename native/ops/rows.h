// What the row-normalizing ops (layer norm, RMS norm) share: R rows of L
// floats, rows cut into fixed blocks per task, and the per-block partial
// sums of the elementwise parameters' gradients, added in block order so
// results are bit-identical for any thread count.
#pragma once
#include <cstdint>

#include "op.h"
#include "policy.h"
#include "scratch.h"

namespace instnorm {
namespace ops {

// The scalars every row op's descriptor starts with.
struct RowShape {
  int64_t rows, len;
  double eps;

  int64_t numel() const { return sat_mul(rows, len); }
  const char* check() const { return eps >= 0.0 ? nullptr : "eps must be a finite number >= 0"; }
  void scalars(FieldVisitor& v) {
    v.dim("rows", rows);
    v.dim("len", len);
    v.number("eps", eps);
  }
};

// Rows per task: about 256Ki floats, capped so no fp32 accumulator of a
// block sums too many rows.
inline int64_t rows_per_block(int64_t len) {
  int64_t r = 4 * kChunk / len;
  if (r > 1024) r = 1024;
  return r < 1 ? 1 : r;
}

// An elementwise parameter, or `fill` everywhere when absent (the row
// kernels always take arrays).
class ParamOr {
 public:
  ParamOr(const float* p, int64_t len, float fill) : mem_(p ? 0 : len), p_(p) {
    if (p) return;
    for (int64_t i = 0; i < len; ++i) mem_[i] = fill;
    p_ = mem_.data();
  }
  const float* data() const { return p_; }

 private:
  Scratch<float> mem_;
  const float* p_;
};

// Per-block fp32 accumulators of `parts` gradients of length `len`
// (dgamma[, dbeta]). With one block, the outputs themselves are the
// accumulators.
class BlockSums {
 public:
  BlockSums(int64_t blocks, int64_t len, int parts, float* const* outs)
      : blocks_(blocks), len_(len), parts_(parts), outs_(outs), mem_(blocks > 1 ? parts * blocks * len : 0) {
    if (blocks > 1) {
      for (int64_t i = 0; i < parts * blocks * len; ++i) mem_[i] = 0.0f;
    } else {
      for (int p = 0; p < parts; ++p) {
        for (int64_t i = 0; i < len; ++i) outs[p][i] = 0.0f;
      }
    }
  }
  // Accumulator of gradient `part` for block t.
  float* acc(int part, int64_t t) const {
    return blocks_ > 1 ? mem_.data() + (t * parts_ + part) * len_ : outs_[part];
  }
  // Writes the outputs: the blocks' sums added in block order, in double.
  void finish() const;

 private:
  int64_t blocks_, len_;
  int parts_;
  float* const* outs_;
  Scratch<float> mem_;
};

}  // namespace ops
}  // namespace instnorm
