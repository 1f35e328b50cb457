// The exact path: a group's statistics and outputs in double precision, for
// data outside the range the float32 kernels are accurate on. The kernels
// square deviations in float32, which overflows beyond about 1.8e19 and
// loses precision below about 1e-19, and the apply kernels take float32
// coefficients (the backward's scale ~ 1/std^2 leaves the float range for
// a std outside about [1e-18, 1e18]). An op checks each group's statistics
// with needs_exact() and sends the few groups that fail here: the data of
// everyday tensors never takes this path, and a tensor with values up to
// the float maximum or deviations of 1e-30 still normalizes to float64
// accuracy. Plain scalar loops: no reassociation, so every ISA gives the
// same bits.
#pragma once
#include <cmath>
#include <cstdint>

#include "../kernels/microkernels.h"
#include "scratch.h"

namespace instnorm {
namespace ops {

// A group's elements: `count` runs of `len` floats, run j at
// base(j) + i * stride for i < len.
struct Runs {
  const int64_t* bases;
  int64_t count, stride, len;
};

// True when statistics from the float32 kernels cannot be trusted for this
// group: not finite, zero (a constant group, or deviations that underflowed
// when squared: checked exactly), or a standard deviation outside
// [2^-56, 2^56].
inline bool needs_exact(double m2, double count) {
  if (!(m2 > 0.0) || !std::isfinite(m2)) return true;  // also NaN
  const double var = m2 / count;
  return var < 0x1p-112 || var > 0x1p112;
}

// needs_exact() for a group whose float32 statistics say M2 = 0: the group
// is constant, and stays on the float32 path, when its mean is not tiny
// (every deviation then squares to at least the smallest subnormal, so
// M2 = 0 means equal values) or when every element is zero, the common
// case of zero padding (`all_zero()` checks, only then); values too small
// to square (deviations under 2^-74) go to the exact path.
template <class AllZero>
inline bool needs_exact(double m2, double count, double mean, AllZero all_zero) {
  if (m2 == 0.0) return !(std::fabs(mean) >= 0x1p-48 || all_zero());
  return needs_exact(m2, count);
}

// Whether every element of the runs (or of x[0..n)) is +-0.
bool all_zero(const float* x, const Runs& r);
inline bool all_zero(const float* x, int64_t n) {
  const int64_t base = 0;
  return all_zero(x, Runs{&base, 1, 1, n});
}

// A saved rstd the float32 backward coefficients cannot carry (b ~ r^2).
inline bool rstd_needs_exact(double r) { return !(r * r >= 0x1p-112 && r * r <= 0x1p112); }

// Mean and M2 of the group, two-pass in double.
kernels::Moments exact_moments(const float* x, const Runs& r);

// y = gamma(j) * xhat + beta(j) + blend * x over run j, xhat = (x - mean) *
// rstd (0 for a constant group), rounded once to float.
template <class G, class B>
void exact_forward(const float* x, float* y, const Runs& r, double mean, double rstd, bool constant, G gamma,
                   B beta, double blend) {
  for (int64_t j = 0; j < r.count; ++j) {
    const double scale = constant ? 0.0 : gamma(j) * rstd, shift = beta(j);
    const float* xs = x + r.bases[j];
    float* ys = y + r.bases[j];
    for (int64_t i = 0; i < r.len; ++i) {
      const double v = xs[i * r.stride];
      ys[i * r.stride] = static_cast<float>((v - mean) * scale + shift + blend * v);
    }
  }
}

// The gradients of a group (the same formulas as fold.h's group_grads, in
// double end to end): writes dx, and each run's shares of dgamma and dbeta.
// saved_rstd < 0: recomputed with eps.
void exact_backward(const float* dy, const float* x, float* dx, const Runs& r, const double* gamma,
                    double saved_rstd, double eps, double blend, double* share_g, double* share_b);

// The elements of some groups of a tensor copied out, for ops whose apply
// pass writes whole blocks of a tensor (channels-last, batch norm): the
// copies are taken before that pass (which may work in place), the exact
// results are computed on them, and written over the apply pass's output
// afterwards. `runs_of(k, bases)` fills the bases of group k's runs.
class Gathered {
 public:
  // Room for `groups` groups of `runs` runs of `len`, `arrays` inputs each.
  Gathered(int64_t groups, int64_t runs, int64_t len, int arrays);
  // Copies group slot k (its runs r of tensor `t`) into array `a` of slot k.
  void gather(int64_t k, int a, const float* t, const Runs& r);
  // The copy of array a of slot k, as one contiguous run per original run.
  float* copy(int64_t k, int a) const { return mem_.data() + (k * arrays_ + a) * per_; }
  Runs local(const int64_t* bases) const { return {bases, runs_, 1, len_}; }
  const int64_t* local_bases() const { return local_.data(); }
  // Writes array a of slot k back to the runs r of tensor t.
  void scatter(int64_t k, int a, float* t, const Runs& r) const;

 private:
  int64_t runs_, len_, per_;
  int arrays_;
  Scratch<float> mem_;
  Scratch<int64_t> local_;
};

}  // namespace ops
}  // namespace instnorm
