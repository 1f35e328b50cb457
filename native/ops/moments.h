// Mergeable statistics: (count, mean, M2) in double per statistic, over
// the axes of any family member (instance, batch, layer, group), in either
// layout. mergeMoments() in the facade combines results from anywhere.
#pragma once
#include <cstdint>

#include "op.h"

namespace instnorm {
namespace ops {

enum MomentsOver : int64_t { kOverInstance = 0, kOverBatch = 1, kOverLayer = 2, kOverGroup = 3 };

struct MomentsOp {
  int64_t n, c, s;
  bool channels_last;
  int64_t over, groups;
  const float* x;
  double* count;
  double* mean;
  double* m2;

  // How many statistics: N*C, C, N or N*groups.
  int64_t results() const {
    return over == kOverInstance ? sat_mul(n, c) : over == kOverBatch ? c : over == kOverLayer ? n : sat_mul(n, groups);
  }
  const char* check() const { return c % groups == 0 ? nullptr : "groups must divide c"; }
  void fields(FieldVisitor& v) {
    v.dim("n", n);
    v.dim("c", c);
    v.dim("s", s);
    v.flag("channelsLast", channels_last);
    v.integer("over", over, kOverInstance, kOverGroup);
    v.integer("groups", groups, 1, c);
    v.in("x", x, sat_mul(n, c, s), Need::kRequired);
    v.out("count", count, results(), Need::kRequired);
    v.out("mean", mean, results(), Need::kRequired);
    v.out("m2", m2, results(), Need::kRequired);
  }
};

void moments(const Context& ctx, const MomentsOp& d);

}  // namespace ops
}  // namespace instnorm
