#include "instance_norm.h"

#include <cmath>
#include <vector>

#include "../runtime/thread_pool.h"
#include "stats.h"

namespace instnorm {
namespace ops {
namespace {

using kernels::CoMoments;
using kernels::KernelTable;
using kernels::Moments;

// How one plane is normalized: y = (x - sub) * scale + shift.
struct ForwardCoeffs {
  float sub, scale, shift;
  float mean, rstd;  // reported to the caller
};

// How one plane's gradient is formed: dx = a (dy - dy_sub) + b (x - x_sub) + c.
struct BackwardCoeffs {
  float dy_sub, x_sub, a, b, c;
  double sum_dy_xhat, sum_dy;  // this plane's share of dgamma, dbeta
};

// 1/sqrt(var + eps). A constant plane with eps == 0 has no defined xhat;
// it gets rstd = +inf and xhat is taken as 0 (output beta, zero gradient).
inline double rstd_of(double m2, double count, double eps) {
  return 1.0 / std::sqrt(m2 / count + eps);
}

ForwardCoeffs forward_coeffs(const Moments& mo, double g, double b, double eps) {
  const double rstd = rstd_of(mo.m2, mo.count, eps);
  // The mean reaches the subtraction as hi + lo: x - hi is exact for x near
  // the mean, and lo is folded into the shift, so an offset of 1e4 does not
  // cost the half-ulp (~5e-4) that a single fp32 mean would.
  const float hi = static_cast<float>(mo.mean);
  const double lo = mo.mean - static_cast<double>(hi);
  double scale = g * rstd;
  double shift = b - lo * scale;
  if (mo.m2 == 0.0) {
    // A constant plane: x - mean is exactly 0, so xhat is 0 for every eps
    // (also eps = 0, where rstd is infinite, and eps so small that the
    // scale would overflow a float).
    scale = 0.0;
    shift = b;
  }
  return {hi, static_cast<float>(scale), static_cast<float>(shift),
          static_cast<float>(mo.mean), static_cast<float>(rstd)};
}

// `saved_rstd` < 0 means: not saved, use the variance from `s`.
BackwardCoeffs backward_coeffs(const CoMoments& s, double g, double saved_rstd,
                               double eps) {
  // The co-moment pass gives the mean of x to full precision (better than
  // a saved float32 mean), its variance, and the covariance of x and dy,
  // all free of cancellation.
  const double rstd = saved_rstd >= 0.0 ? saved_rstd : rstd_of(s.m2_x, s.count, eps);
  // Both means reach the apply pass as float + remainder, the remainders
  // folded into the constant term.
  const float x_sub = static_cast<float>(s.mean_x);
  const float dy_sub = static_cast<float>(s.mean_dy);
  const double lo = s.mean_x - static_cast<double>(x_sub);
  double sum_dy_xhat = rstd * s.c_x_dy;
  double ca = g * rstd;
  double cb = -g * rstd * rstd * (sum_dy_xhat / s.count);
  double cc = -ca * (s.mean_dy - static_cast<double>(dy_sub)) - cb * lo;
  if (std::isinf(rstd)) {
    sum_dy_xhat = 0.0;
    ca = cb = cc = 0.0;
  }
  return {dy_sub, x_sub, static_cast<float>(ca), static_cast<float>(cb),
          static_cast<float>(cc), sum_dy_xhat, s.mean_dy * s.count};
}

inline int64_t chunks_of(int64_t m) { return (m + kChunk - 1) / kChunk; }
inline int64_t chunk_len(int64_t m, int64_t j) {
  return m - j * kChunk < kChunk ? m - j * kChunk : kChunk;
}

// Split planes into chunks across threads only when whole planes would
// leave threads idle (few planes) and the planes are big enough to split.
inline bool split_planes(int64_t planes, int64_t m, int threads) {
  return m >= 2 * kChunk && planes < 4 * static_cast<int64_t>(threads);
}

// Outputs this large are written with non-temporal stores: input and output
// together no longer fit a typical last-level cache, and streaming skips the
// read-for-ownership of every output line. Below it, plain stores win (the
// data is cache-resident). Measured with scripts/bench-kernels.sh on a 32 MiB
// L3: streaming is 25-30% faster at 16 MiB, 10-20% slower at 4-8 MiB.
// Small planes never stream: each kernel call ends with a store fence, and
// partial cache lines at plane edges defeat write combining.
constexpr int64_t kStreamMinBytes = int64_t{16} << 20;
constexpr int64_t kStreamMinPlane = int64_t{1} << 14;
inline bool streaming(int64_t numel, int64_t m) {
  return numel * 4 >= kStreamMinBytes && m >= kStreamMinPlane;
}

inline bool serial(int64_t numel, int threads) {
  return threads <= 1 || numel < kParallelMinElements;
}

// Per-calling-thread scratch, grown and never shrunk: no allocation once a
// shape has been seen.
template <class T>
T* scratch(std::vector<T>& v, int64_t n) {
  if (static_cast<int64_t>(v.size()) < n) v.resize(static_cast<size_t>(n));
  return v.data();
}

}  // namespace

void instance_norm_forward(const KernelTable& k, const InstanceNormForward& a) {
  const int64_t planes = a.n * a.c;
  const int64_t m = a.m;
  const bool stream = streaming(planes * m, m);
  auto coeffs_for = [&](int64_t p, const Moments& mo) {
    const int64_t ch = p % a.c;
    const ForwardCoeffs f = forward_coeffs(mo, a.gamma ? a.gamma[ch] : 1.0,
                                           a.beta ? a.beta[ch] : 0.0, a.eps);
    if (a.mean) a.mean[p] = f.mean;
    if (a.rstd) a.rstd[p] = f.rstd;
    return f;
  };
  auto whole_plane = [&](int64_t p) {
    const float* x = a.x + p * m;
    const ForwardCoeffs f = coeffs_for(p, plane_moments(k, x, m));
    k.affine(x, a.y + p * m, m, f.sub, f.scale, f.shift, stream);
  };

  // Small planes go in groups: all statistics, then all coefficients, then
  // all outputs, so the long scalar chains (sqrt, divisions) of different
  // planes overlap instead of each stalling its own plane.
  constexpr int64_t kGroup = 8;
  auto plane_group = [&](int64_t g) {
    const int64_t p0 = g * kGroup, p1 = p0 + kGroup < planes ? p0 + kGroup : planes;
    Moments mo[kGroup];
    ForwardCoeffs co[kGroup];
    for (int64_t p = p0; p < p1; ++p) mo[p - p0] = k.moments(a.x + p * m, m);
    for (int64_t p = p0; p < p1; ++p) co[p - p0] = coeffs_for(p, mo[p - p0]);
    for (int64_t p = p0; p < p1; ++p) {
      k.affine(a.x + p * m, a.y + p * m, m, co[p - p0].sub, co[p - p0].scale, co[p - p0].shift, stream);
    }
  };
  const bool small = m <= 1024;  // a group's planes stay in L1
  const int64_t groups = (planes + kGroup - 1) / kGroup;

  if (serial(planes * m, a.threads)) {
    if (small) {
      for (int64_t g = 0; g < groups; ++g) plane_group(g);
    } else {
      for (int64_t p = 0; p < planes; ++p) whole_plane(p);
    }
  } else if (!split_planes(planes, m, a.threads)) {
    if (small) {
      runtime::parallel_for(a.threads, groups, plane_group);
    } else {
      runtime::parallel_for(a.threads, planes, whole_plane);
    }
  } else {
    thread_local std::vector<Moments> moments_scratch;
    thread_local std::vector<ForwardCoeffs> coeffs_scratch;
    const int64_t cpp = chunks_of(m);
    Moments* part = scratch(moments_scratch, planes * cpp);
    ForwardCoeffs* co = scratch(coeffs_scratch, planes);
    runtime::parallel_for(a.threads, planes * cpp, [&](int64_t t) {
      const int64_t p = t / cpp, j = t % cpp;
      part[t] = k.moments(a.x + p * m + j * kChunk, chunk_len(m, j));
    });
    for (int64_t p = 0; p < planes; ++p) {
      Moments acc{0.0, 0.0, 0.0};  // same order as plane_moments()
      for (int64_t j = 0; j < cpp; ++j) acc = merge_moments(acc, part[p * cpp + j]);
      co[p] = coeffs_for(p, acc);
    }
    runtime::parallel_for(a.threads, planes * cpp, [&](int64_t t) {
      const int64_t p = t / cpp, j = t % cpp, off = p * m + j * kChunk;
      k.affine(a.x + off, a.y + off, chunk_len(m, j), co[p].sub, co[p].scale, co[p].shift, stream);
    });
  }
}

void instance_norm_backward(const KernelTable& k, const InstanceNormBackward& a) {
  const int64_t planes = a.n * a.c;
  const int64_t m = a.m;
  const bool saved = a.mean && a.rstd;
  const bool stream = streaming(planes * m, m);
  auto coeffs_for = [&](int64_t p, const CoMoments& s) {
    const int64_t ch = p % a.c;
    return backward_coeffs(s, a.gamma ? a.gamma[ch] : 1.0,
                           saved ? static_cast<double>(a.rstd[p]) : -1.0, a.eps);
  };
  auto apply = [&](int64_t off, int64_t len, const BackwardCoeffs& b) {
    k.backward_apply(a.dy + off, a.x + off, a.dx + off, len, b.dy_sub, b.x_sub, b.a, b.b, b.c, stream);
  };
  // Planes in memory order (small ones in groups, so the scalar work of
  // several planes overlaps), each keeping its share of dgamma/dbeta; the
  // shares are then summed per channel over n in a fixed order. Parallel
  // over planes, not channels, so a tensor with few channels still uses
  // every thread.
  constexpr int64_t kGroup = 8;
  const int64_t group_size = m <= 1024 ? kGroup : 1;
  auto by_planes = [&](int thread_count) {
    thread_local std::vector<double> share_scratch;
    double* share = scratch(share_scratch, 2 * planes);
    const int64_t groups = (planes + group_size - 1) / group_size;
    auto group = [&](int64_t g) {
      const int64_t p0 = g * group_size;
      const int64_t p1 = p0 + group_size < planes ? p0 + group_size : planes;
      CoMoments cm[kGroup];
      BackwardCoeffs co[kGroup];
      for (int64_t p = p0; p < p1; ++p) cm[p - p0] = plane_co_moments(k, a.dy + p * m, a.x + p * m, m);
      for (int64_t p = p0; p < p1; ++p) co[p - p0] = coeffs_for(p, cm[p - p0]);
      for (int64_t p = p0; p < p1; ++p) {
        apply(p * m, m, co[p - p0]);
        share[2 * p] = co[p - p0].sum_dy_xhat;
        share[2 * p + 1] = co[p - p0].sum_dy;
      }
    };
    if (thread_count <= 1) {
      for (int64_t g = 0; g < groups; ++g) group(g);
    } else {
      runtime::parallel_for(thread_count, groups, group);
    }
    for (int64_t ch = 0; ch < a.c; ++ch) {
      double dgamma = 0.0, dbeta = 0.0;
      for (int64_t n = 0; n < a.n; ++n) {
        dgamma += share[2 * (n * a.c + ch)];
        dbeta += share[2 * (n * a.c + ch) + 1];
      }
      a.dgamma[ch] = static_cast<float>(dgamma);
      a.dbeta[ch] = static_cast<float>(dbeta);
    }
  };

  if (serial(planes * m, a.threads)) {
    by_planes(1);
  } else if (!split_planes(planes, m, a.threads)) {
    by_planes(a.threads);
  } else {
    thread_local std::vector<CoMoments> part_scratch;
    thread_local std::vector<BackwardCoeffs> coeffs_scratch;
    const int64_t cpp = chunks_of(m);
    CoMoments* part = scratch(part_scratch, planes * cpp);
    BackwardCoeffs* co = scratch(coeffs_scratch, planes);
    runtime::parallel_for(a.threads, planes * cpp, [&](int64_t t) {
      const int64_t p = t / cpp, j = t % cpp, off = p * m + j * kChunk;
      part[t] = k.co_moments(a.dy + off, a.x + off, chunk_len(m, j));
    });
    for (int64_t p = 0; p < planes; ++p) {
      CoMoments acc{0.0, 0.0, 0.0, 0.0, 0.0};  // same order as plane_co_moments()
      for (int64_t j = 0; j < cpp; ++j) acc = merge_co_moments(acc, part[p * cpp + j]);
      co[p] = coeffs_for(p, acc);
    }
    for (int64_t ch = 0; ch < a.c; ++ch) {
      double dgamma = 0.0, dbeta = 0.0;
      for (int64_t n = 0; n < a.n; ++n) {
        dgamma += co[n * a.c + ch].sum_dy_xhat;
        dbeta += co[n * a.c + ch].sum_dy;
      }
      a.dgamma[ch] = static_cast<float>(dgamma);
      a.dbeta[ch] = static_cast<float>(dbeta);
    }
    runtime::parallel_for(a.threads, planes * cpp, [&](int64_t t) {
      const int64_t p = t / cpp, j = t % cpp;
      apply(p * m + j * kChunk, chunk_len(m, j), co[p]);
    });
  }
}

}  // namespace ops
}  // namespace instnorm
