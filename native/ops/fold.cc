#include "fold.h"

namespace instnorm {
namespace ops {

using kernels::CoMoments;
using kernels::Moments;

Moments group_x_moments(const CoMoments* cm, int64_t cpg) { return group_x_moments_inline(cm, cpg); }

void group_grads(const CoMoments* cm, const double* g, int64_t cpg, double saved_rstd, double eps,
                 double blend, GradCoef out, int64_t u0, double* dgamma, double* dbeta) {
  group_grads_inline(cm, g, cpg, saved_rstd, eps, blend, out, u0, dgamma, dbeta);
}

}  // namespace ops
}  // namespace instnorm
