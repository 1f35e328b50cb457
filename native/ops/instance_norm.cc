#include "instance_norm.h"

#include <cmath>

#include "stats.h"

namespace instnorm {
namespace ops {
namespace {

// 1/sqrt(var + eps). A constant plane with eps == 0 has no defined xhat;
// it gets rstd = +inf and callers treat xhat as 0 (output beta, zero grad).
inline double rstd_of(double m2, double count, double eps) {
  return 1.0 / std::sqrt(m2 / count + eps);
}

}  // namespace

void instance_norm_forward(const kernels::KernelTable& k,
                           const InstanceNormForward& a) {
  const double count = static_cast<double>(a.m);
  for (int64_t p = 0; p < a.n * a.c; ++p) {
    const int64_t ch = p % a.c;
    const float* x = a.x + p * a.m;
    float* y = a.y + p * a.m;
    const kernels::Moments mo = plane_moments(k, x, a.m);
    const double rstd = rstd_of(mo.m2, count, a.eps);
    const double g = a.gamma ? a.gamma[ch] : 1.0;
    const double b = a.beta ? a.beta[ch] : 0.0;
    // The mean reaches the subtraction as hi + lo: x - hi is exact for x
    // near the mean, and lo is folded into the shift, so an offset of 1e4
    // does not cost the half-ulp (~5e-4) that a single fp32 mean would.
    const float hi = static_cast<float>(mo.mean);
    const double lo = mo.mean - static_cast<double>(hi);
    double scale = g * rstd;
    double shift = b - lo * scale;
    if (std::isinf(rstd)) {
      scale = 0.0;
      shift = b;
    }
    k.affine(x, y, a.m, hi, static_cast<float>(scale),
             static_cast<float>(shift));
    if (a.mean) a.mean[p] = static_cast<float>(mo.mean);
    if (a.rstd) a.rstd[p] = static_cast<float>(rstd);
  }
}

void instance_norm_backward(const kernels::KernelTable& k,
                            const InstanceNormBackward& a) {
  const double count = static_cast<double>(a.m);
  // Channel-major so that dgamma/dbeta accumulate in a local double, over n
  // in a fixed order, without scratch memory.
  for (int64_t ch = 0; ch < a.c; ++ch) {
    const double g = a.gamma ? a.gamma[ch] : 1.0;
    double dgamma = 0.0, dbeta = 0.0;
    for (int64_t n = 0; n < a.n; ++n) {
      const int64_t p = n * a.c + ch;
      const float* x = a.x + p * a.m;
      const float* dy = a.dy + p * a.m;
      float* dx = a.dx + p * a.m;
      // One pass gives the mean of x to full precision (better than a
      // saved float32 mean), its variance when rstd was not saved, and the
      // co-moment of x and dy, all free of cancellation.
      const kernels::CoMoments s = plane_co_moments(k, dy, x, a.m);
      const double rstd = (a.mean && a.rstd) ? static_cast<double>(a.rstd[p])
                                             : rstd_of(s.m2_x, count, a.eps);
      // Both means reach the apply pass as float + remainder, the
      // remainders folded into the constant term.
      const float x_sub = static_cast<float>(s.mean_x);
      const float dy_sub = static_cast<float>(s.mean_dy);
      const double lo = s.mean_x - static_cast<double>(x_sub);
      double sum_dy_xhat = rstd * s.c_x_dy;
      double ca = g * rstd;
      double cb = -g * rstd * rstd * (sum_dy_xhat / count);
      double cc = -ca * (s.mean_dy - static_cast<double>(dy_sub)) - cb * lo;
      if (std::isinf(rstd)) {
        sum_dy_xhat = 0.0;
        ca = cb = cc = 0.0;
      }
      k.backward_apply(dy, x, dx, a.m, dy_sub, x_sub, static_cast<float>(ca),
                       static_cast<float>(cb), static_cast<float>(cc));
      dgamma += sum_dy_xhat;
      dbeta += s.mean_dy * count;
    }
    a.dgamma[ch] = static_cast<float>(dgamma);
    a.dbeta[ch] = static_cast<float>(dbeta);
  }
}

}  // namespace ops
}  // namespace instnorm
