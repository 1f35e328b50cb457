#include "rows.h"

namespace instnorm {
namespace ops {

void BlockSums::finish() const {
  if (blocks_ <= 1) return;
  // Block by block (contiguous reads; walking each column across the
  // blocks instead strides by parts*len floats and was 10x slower for
  // long rows).
  Scratch<double> sum(parts_ * len_);
  for (int64_t i = 0; i < parts_ * len_; ++i) sum[i] = 0.0;
  for (int64_t t = 0; t < blocks_; ++t) {
    const float* p = mem_.data() + t * parts_ * len_;
    for (int64_t i = 0; i < parts_ * len_; ++i) sum[i] += p[i];
  }
  for (int p = 0; p < parts_; ++p) {
    for (int64_t i = 0; i < len_; ++i) outs_[p][i] = static_cast<float>(sum[p * len_ + i]);
  }
}

}  // namespace ops
}  // namespace instnorm
