#include "exact.h"

#include <cstring>

#include "scratch.h"

namespace instnorm {
namespace ops {

namespace {

// The bits of x[0..n) but the signs, OR-ed, in runs of 64 (a loop the
// compiler vectorizes, unlike one that stops at the first nonzero).
bool contiguous_all_zero(const float* x, int64_t n) {
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    uint32_t acc = 0;
    for (int k = 0; k < 64; ++k) {
      uint32_t b;
      std::memcpy(&b, x + i + k, sizeof b);
      acc |= b & 0x7fffffffu;
    }
    if (acc) return false;
  }
  for (; i < n; ++i) {
    if (x[i] != 0.0f) return false;
  }
  return true;
}

}  // namespace

bool all_zero(const float* x, const Runs& r) {
  for (int64_t j = 0; j < r.count; ++j) {
    const float* xs = x + r.bases[j];
    if (r.stride == 1) {
      if (!contiguous_all_zero(xs, r.len)) return false;
      continue;
    }
    for (int64_t i = 0; i < r.len; ++i) {
      if (xs[i * r.stride] != 0.0f) return false;
    }
  }
  return true;
}

kernels::Moments exact_moments(const float* x, const Runs& r) {
  const double count = static_cast<double>(r.count) * static_cast<double>(r.len);
  double s = 0.0;
  for (int64_t j = 0; j < r.count; ++j) {
    const float* xs = x + r.bases[j];
    for (int64_t i = 0; i < r.len; ++i) s += xs[i * r.stride];
  }
  // A sum of floats cannot overflow a double (at most 2^63 * 3.4e38).
  const double pivot = s / count;
  double sd = 0.0, sdd = 0.0;
  for (int64_t j = 0; j < r.count; ++j) {
    const float* xs = x + r.bases[j];
    for (int64_t i = 0; i < r.len; ++i) {
      const double d = xs[i * r.stride] - pivot;
      sd += d;
      sdd += d * d;
    }
  }
  double m2 = sdd - sd * sd / count;
  if (m2 < 0.0) m2 = 0.0;
  return {count, pivot + sd / count, m2};
}

void exact_backward(const float* dy, const float* x, float* dx, const Runs& r, const double* gamma,
                    double saved_rstd, double eps, double blend, double* share_g, double* share_b) {
  const int64_t nu = r.count, m = r.len;
  const double total = static_cast<double>(nu) * static_cast<double>(m);
  // Per run: dy pivot (then its mean), sum(dy - pivot), sum(x - px), sum((dy - pivot)(x - px)).
  Scratch<double> mem(4 * nu);
  double* pdy = mem.data();
  double* se = pdy + nu;
  double* sdx = se + nu;
  double* sed = sdx + nu;
  double sx = 0.0;
  for (int64_t j = 0; j < nu; ++j) {
    const int64_t b = r.bases[j];
    double sdy = 0.0;
    for (int64_t i = 0; i < m; ++i) {
      sx += x[b + i * r.stride];
      sdy += dy[b + i * r.stride];
    }
    pdy[j] = sdy / static_cast<double>(m);
  }
  const double px = sx / total;
  double sd = 0.0, sdd = 0.0;
  for (int64_t j = 0; j < nu; ++j) {
    const int64_t b = r.bases[j];
    double d1 = 0.0, e1 = 0.0, ed = 0.0;
    for (int64_t i = 0; i < m; ++i) {
      const double d = x[b + i * r.stride] - px, f = dy[b + i * r.stride] - pdy[j];
      d1 += d;
      sdd += d * d;
      e1 += f;
      ed += f * d;
    }
    sd += d1;
    sdx[j] = d1;
    se[j] = e1;
    sed[j] = ed;
  }
  const double delta = sd / total, mu = px + delta;
  double m2 = sdd - sd * sd / total;
  if (m2 < 0.0) m2 = 0.0;
  const double rs = saved_rstd >= 0.0 ? saved_rstd : 1.0 / std::sqrt(m2 / total + eps);
  const double md = static_cast<double>(m);
  if (std::isinf(rs)) {  // a constant group with eps = 0: no normalization gradient
    for (int64_t j = 0; j < nu; ++j) {
      const int64_t b = r.bases[j];
      for (int64_t i = 0; i < m; ++i) dx[b + i * r.stride] = static_cast<float>(blend * dy[b + i * r.stride]);
      share_g[j] = 0.0;
      share_b[j] = pdy[j] * md + se[j];
    }
    return;
  }
  double sum_gs = 0.0, sum_gt = 0.0;
  for (int64_t j = 0; j < nu; ++j) {
    const double mdy = pdy[j] + se[j] / md;
    const double cov = sed[j] - se[j] * sdx[j] / md;
    const double t = cov + mdy * (sdx[j] - md * delta);  // sum dy (x - mu)
    sum_gs += gamma[j] * mdy * md;
    sum_gt += gamma[j] * t;
    share_g[j] = rs * t;
    share_b[j] = mdy * md;
    pdy[j] = mdy;
  }
  const double p = sum_gs / total;                   // mean(g dy)
  const double kx = rs * rs * rs * sum_gt / total;   // r^2 mean(g dy xhat)
  for (int64_t j = 0; j < nu; ++j) {
    const int64_t b = r.bases[j];
    const double a = rs * gamma[j], c0 = rs * (gamma[j] * pdy[j] - p);
    for (int64_t i = 0; i < m; ++i) {
      const double v = dy[b + i * r.stride];
      dx[b + i * r.stride] = static_cast<float>(a * (v - pdy[j]) - kx * (x[b + i * r.stride] - mu) + c0 + blend * v);
    }
  }
}

Gathered::Gathered(int64_t groups, int64_t runs, int64_t len, int arrays)
    : runs_(runs), len_(len), per_(runs * len), arrays_(arrays), mem_(groups * arrays * runs * len), local_(runs) {
  for (int64_t j = 0; j < runs; ++j) local_[j] = j * len;
}

void Gathered::gather(int64_t k, int a, const float* t, const Runs& r) {
  float* out = copy(k, a);
  for (int64_t j = 0; j < r.count; ++j) {
    for (int64_t i = 0; i < r.len; ++i) out[j * r.len + i] = t[r.bases[j] + i * r.stride];
  }
}

void Gathered::scatter(int64_t k, int a, float* t, const Runs& r) const {
  const float* in = copy(k, a);
  for (int64_t j = 0; j < r.count; ++j) {
    for (int64_t i = 0; i < r.len; ++i) t[r.bases[j] + i * r.stride] = in[j * r.len + i];
  }
}

}  // namespace ops
}  // namespace instnorm
