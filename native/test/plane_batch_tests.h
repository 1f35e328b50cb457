// Tests of the plane-batch kernels (plane_batch_forward,
// plane_batch_backward): kBatchPlanes planes of every length from 1 to 70,
// around the vector widths and block size, and past it, against
// double-precision references. Among the planes are those the op's exact
// path must get (constant, NaN, infinity, variance outside the fp32 range,
// a saved rstd outside it), which must be flagged and left untouched, and
// hard ones the kernels must get right (offset 1e4, an outlier as first
// element, variance near the range's edges, nearly constant dy). Then
// every plane count 1..kBatchPlanes, at shifting starts (partial batches,
// every plane at many batch positions), in place and out of place, must
// give the same bits as the full call. Outputs end at guard pages.
// Included once, by microkernels_test.cc.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "../kernels/microkernels.h"
#include "harness.h"
#include "plane_batch_cases.h"

namespace instnorm {
namespace test {
namespace {

// ---- forward ----

struct FwdVariant {
  bool affine;  // g, b arrays (else null: 1, 0)
  float blend;
  bool with_mean, with_rstd;
  float eps;    // 0: a constant plane's rstd is +inf
};

struct FwdResult {
  Out y, mean, rstd;
  FlagOut flags;
  FwdResult(int64_t planes, int64_t len) : y(planes * len), mean(planes), rstd(planes), flags(planes) {}
};

// A copy of `count` planes from `from`, ending at a guard page.
struct In {
  Guarded f;
  In(const float* from, int64_t n) : f(n) { std::memcpy(f.data(), from, n * sizeof(float)); }
};

// Planes [s, s + count) of c, out of place (in_place: on a copy of x).
void run_forward(const KernelTable& k, const BatchCase& c, const FwdVariant& v, int64_t s, int64_t count,
                 bool in_place, FwdResult& r) {
  const int64_t len = c.len;
  In x(c.xs(s), count * len);
  float* y = r.y.p();
  if (in_place) std::memcpy(y, c.xs(s), count * len * sizeof(float));
  k.plane_batch_forward(in_place ? y : x.f.data(), y, count, len, v.affine ? c.g.data() + s : nullptr,
                        v.affine ? c.b.data() + s : nullptr, v.blend, v.eps, v.with_mean ? r.mean.p() : nullptr,
                        v.with_rstd ? r.rstd.p() : nullptr, r.flags.p());
}

// The full call against the references: flags, accuracy of y and the
// statistics, flagged planes untouched.
void check_forward_accuracy(const KernelTable& k, const BatchCase& c, const FwdVariant& v, FwdResult& r) {
  const int64_t len = c.len;
  Worst wy, wy_offset, wmean, wrstd;
  for (int64_t p = 0; p < kBatchPlanes; ++p) {
    const bool flag = r.flags.p()[p] == 1;
    expect(r.flags.p()[p] <= 1, k.isa, "plane_batch_forward.flag_written", len, r.flags.p()[p], 0);
    expect(flag == c.needs_exact(p), k.isa, "plane_batch_forward.flag", len * 100 + p, flag, c.needs_exact(p));
    const float* y = r.y.p() + p * len;
    if (flag) {
      expect(all_sentinel(y, len) && r.mean.p()[p] == kSentinel && r.rstd.p()[p] == kSentinel, k.isa,
             "plane_batch_forward.flagged_untouched", len * 100 + p, 0, 0);
      continue;
    }
    const double rs = c.rstd(p, v.eps), gp = v.affine ? c.g[p] : 1.0, bp = v.affine ? c.b[p] : 0.0;
    const float* x = c.xs(p);
    double err = 0, ref_max = 0;
    for (int64_t i = 0; i < len; ++i) {
      // (xhat = 0 for a constant plane, also where rs is infinite)
      const double xhat = c.m2[p] == 0.0 ? 0.0 : (x[i] - c.mx[p]) * rs;
      const double want = gp * xhat + bp + v.blend * static_cast<double>(x[i]);
      track(err, std::fabs(y[i] - want));
      ref_max = std::fmax(ref_max, std::fabs(want));
    }
    wy.add(err / (1.0 + ref_max), err, ref_max);
    if (c.offset_data[p] && v.blend == 0.0f) wy_offset.add(err, err, 0);  // the offset-1e4 bar: max abs
    // The mean to 1e-6 of 1 + |mean| (the JS suites' bar), or of the
    // plane's deviation where that is larger (deviations of 1e15, mean 1e12).
    const double mean_scale = std::fmax(1.0 + std::fabs(c.mx[p]), std::sqrt(c.m2[p] / len));
    if (v.with_mean) wmean.add(rel_err(r.mean.p()[p], c.mx[p], mean_scale), r.mean.p()[p], c.mx[p]);
    if (v.with_rstd && std::isinf(rs)) {
      expect(r.rstd.p()[p] == static_cast<float>(rs), k.isa, "plane_batch_forward.rstd_inf", len, r.rstd.p()[p], rs);
    } else if (v.with_rstd) {
      wrstd.add(rel_err(r.rstd.p()[p], rs, rs), r.rstd.p()[p], rs);
    }
  }
  wy.check(k.isa, "plane_batch_forward.y", len, 1e-5);
  wy_offset.check(k.isa, "plane_batch_forward.y_offset_1e4", len, 1e-4);
  wmean.check(k.isa, "plane_batch_forward.mean", len, 1e-6);
  wrstd.check(k.isa, "plane_batch_forward.rstd", len, 1e-6);
  expect(v.with_mean || all_sentinel(r.mean.p(), kBatchPlanes), k.isa, "plane_batch_forward.mean_null", len, 0, 0);
  expect(v.with_rstd || all_sentinel(r.rstd.p(), kBatchPlanes), k.isa, "plane_batch_forward.rstd_null", len, 0, 0);
  expect(r.y.f.canaries_intact() && r.mean.f.canaries_intact() && r.rstd.f.canaries_intact() &&
             r.flags.f.canaries_intact(),
         k.isa, "plane_batch_forward.canaries", len, 0, 0);
}

// Planes [s, s + count) of a call (got) against the same planes of the
// full call (full): the same bits, flagged planes untouched.
bool same_forward(const BatchCase& c, const FwdVariant& v, FwdResult& full, FwdResult& got, int64_t s,
                  int64_t count, bool in_place) {
  const int64_t len = c.len;
  bool ok = true;
  for (int64_t j = 0; j < count; ++j) {
    const int64_t p = s + j;
    const uint8_t flag = got.flags.p()[j];
    ok = ok && flag == full.flags.p()[p];
    const float* y = got.y.p() + j * len;
    if (flag) {
      ok = ok && (in_place ? same_bits(y, c.xs(p), len) : all_sentinel(y, len));
      ok = ok && got.mean.p()[j] == kSentinel && got.rstd.p()[j] == kSentinel;
      continue;
    }
    ok = ok && same_bits(y, full.y.p() + p * len, len);
    if (v.with_mean) ok = ok && same_bits(got.mean.p() + j, full.mean.p() + p, 1);
    if (v.with_rstd) ok = ok && same_bits(got.rstd.p() + j, full.rstd.p() + p, 1);
  }
  return ok && got.y.f.canaries_intact() && got.mean.f.canaries_intact() && got.rstd.f.canaries_intact() &&
         got.flags.f.canaries_intact();
}

void test_plane_batch_forward(const KernelTable& k) {
  const FwdVariant variants[] = {{true, 0.0f, true, true, kEps}, {false, 0.5f, true, false, kEps}, {true, 0.3f, true, true, 0.0f}};
  for (const int64_t len : batch_lengths()) {
    const BatchCase c(len);
    for (const FwdVariant& v : variants) {
      FwdResult full(kBatchPlanes, len);
      run_forward(k, c, v, 0, kBatchPlanes, false, full);
      check_forward_accuracy(k, c, v, full);
      {
        FwdResult inp(kBatchPlanes, len);
        run_forward(k, c, v, 0, kBatchPlanes, true, inp);
        expect(same_forward(c, v, full, inp, 0, kBatchPlanes, true), k.isa, "plane_batch_forward.in_place", len,
               0, 0);
      }
      bool ok = true;
      for (int64_t count = 1; count <= kBatchPlanes; ++count) {
        const int64_t s = (count * 7) % (kBatchPlanes - count + 1);
        FwdResult part(count, len);
        run_forward(k, c, v, s, count, count % 2 == 0, part);
        ok = ok && same_forward(c, v, full, part, s, count, count % 2 == 0);
      }
      expect(ok, k.isa, "plane_batch_forward.same_bits_any_split", len, 0, 0);
    }
  }
}

// ---- backward ----

struct BwdVariant {
  bool saved;   // rstd from the forward (float), out of range on two planes; else recomputed
  bool affine;  // g array (else null: 1)
  float blend;
  float eps;    // 0, recomputed: a constant plane's rstd is +inf (flagged)
};

struct BwdResult {
  Out dx;
  DoubleOut sg, sb;
  FlagOut flags;
  BwdResult(int64_t planes, int64_t len) : dx(planes * len), sg(planes), sb(planes), flags(planes) {}
};

// The saved rstd of plane k (as the forward stores it), or the out-of-range
// values of the two planes that test that flag.
std::vector<float> saved_rstd(const BatchCase& c) {
  std::vector<float> r(kBatchPlanes);
  for (int64_t k = 0; k < kBatchPlanes; ++k) r[k] = static_cast<float>(c.rstd(k));
  r[kRstdHigh] = 1e20f;
  r[kRstdLow] = 1e-20f;
  return r;
}

// in_place: 0 out of place, 1 dx = a copy of dy, 2 dx = a copy of x.
void run_backward(const KernelTable& k, const BatchCase& c, const BwdVariant& v, const std::vector<float>& rs,
                  int64_t s, int64_t count, int in_place, BwdResult& r) {
  const int64_t len = c.len;
  In dy(c.dys(s), count * len), x(c.xs(s), count * len);
  float* dx = r.dx.p();
  if (in_place == 1) std::memcpy(dx, c.dys(s), count * len * sizeof(float));
  if (in_place == 2) std::memcpy(dx, c.xs(s), count * len * sizeof(float));
  k.plane_batch_backward(in_place == 1 ? dx : dy.f.data(), in_place == 2 ? dx : x.f.data(), dx, count, len,
                         v.affine ? c.g.data() + s : nullptr, v.saved ? rs.data() + s : nullptr, v.blend, v.eps,
                         r.sg.p(), r.sb.p(), r.flags.p());
}

bool bwd_needs_exact(const BatchCase& c, const BwdVariant& v, const std::vector<float>& rs, int64_t p) {
  const double r = v.saved ? rs[p] : c.rstd(p, v.eps);
  return c.needs_exact(p) || !(r * r >= 0x1p-112 && r * r <= 0x1p112);
}

void check_backward_accuracy(const KernelTable& k, const BatchCase& c, const BwdVariant& v,
                             const std::vector<float>& rs, BwdResult& r) {
  const int64_t len = c.len;
  Worst wdx, wsg, wsb;
  for (int64_t p = 0; p < kBatchPlanes; ++p) {
    const bool flag = r.flags.p()[p] == 1, want_flag = bwd_needs_exact(c, v, rs, p);
    expect(r.flags.p()[p] <= 1, k.isa, "plane_batch_backward.flag_written", len, r.flags.p()[p], 0);
    expect(flag == want_flag, k.isa, "plane_batch_backward.flag", len * 100 + p, flag, want_flag);
    const float* dx = r.dx.p() + p * len;
    const double sg = r.sg.p()[p], sb = r.sb.p()[p];
    if (flag) {
      expect(all_sentinel(dx, len) && sg == kSentinel && sb == kSentinel, k.isa,
             "plane_batch_backward.flagged_untouched", len * 100 + p, 0, 0);
      continue;
    }
    if (p == kDyNaN && len >= 2) {  // NaN in dy: that plane's outputs are NaN
      bool all_nan = std::isnan(sg) && std::isnan(sb);
      for (int64_t i = 0; i < len; ++i) all_nan = all_nan && std::isnan(dx[i]);
      expect(all_nan, k.isa, "plane_batch_backward.dy_nan", len, 0, 0);
      continue;
    }
    const double rr = v.saved ? rs[p] : c.rstd(p, v.eps), g = v.affine ? c.g[p] : 1.0;
    const double k3 = rr * rr * rr * g * c.cxy[p] / len;
    const float *x = c.xs(p), *dy = c.dys(p);
    double err = 0, ref_max = 0, dy_max = 0;
    for (int64_t i = 0; i < len; ++i) {
      const double want = rr * g * (dy[i] - c.mdy[p]) - k3 * (x[i] - c.mx[p]) + v.blend * static_cast<double>(dy[i]);
      track(err, std::fabs(dx[i] - want));
      ref_max = std::fmax(ref_max, std::fabs(want));
      dy_max = std::fmax(dy_max, std::fabs(dy[i]));
    }
    // Relative to the larger of max |dx| and the size of its terms (as the
    // JS suites' relErrScaled), the co-moment to its Cauchy-Schwarz bound.
    const double terms = std::fabs(rr * g) * std::sqrt(c.m2dy[p] / len) + std::fabs(v.blend) * dy_max;
    wdx.add(err / std::fmax(std::fmax(ref_max, terms), 1e-30), err, ref_max);  // (planes of one element: 0)
    wsg.add(rel_err(sg, rr * c.cxy[p], rr * std::sqrt(c.m2[p] * c.m2dy[p]) + 1e-30), sg, rr * c.cxy[p]);
    wsb.add(rel_err(sb, c.sdy[p], c.sabs_dy[p]), sb, c.sdy[p]);
  }
  wdx.check(k.isa, "plane_batch_backward.dx", len, 1e-5);
  wsg.check(k.isa, "plane_batch_backward.share_g", len, 1e-5);
  wsb.check(k.isa, "plane_batch_backward.share_b", len, 1e-6);
  expect(r.dx.f.canaries_intact() && r.sg.f.canaries_intact() && r.sb.f.canaries_intact() &&
             r.flags.f.canaries_intact(),
         k.isa, "plane_batch_backward.canaries", len, 0, 0);
}

bool same_backward(const BatchCase& c, BwdResult& full, BwdResult& got, int64_t s, int64_t count, int in_place) {
  const int64_t len = c.len;
  bool ok = true;
  for (int64_t j = 0; j < count; ++j) {
    const int64_t p = s + j;
    const uint8_t flag = got.flags.p()[j];
    ok = ok && flag == full.flags.p()[p];
    const float* dx = got.dx.p() + j * len;
    if (flag) {
      const float* orig = in_place == 1 ? c.dys(p) : in_place == 2 ? c.xs(p) : nullptr;
      ok = ok && (orig ? same_bits(dx, orig, len) : all_sentinel(dx, len));
      ok = ok && got.sg.p()[j] == kSentinel && got.sb.p()[j] == kSentinel;
      continue;
    }
    ok = ok && same_bits(dx, full.dx.p() + p * len, len);
    ok = ok && same_bits(got.sg.p() + j, full.sg.p() + p, 1);
    ok = ok && same_bits(got.sb.p() + j, full.sb.p() + p, 1);
  }
  return ok && got.dx.f.canaries_intact() && got.sg.f.canaries_intact() && got.sb.f.canaries_intact() &&
         got.flags.f.canaries_intact();
}

void test_plane_batch_backward(const KernelTable& k) {
  const BwdVariant variants[] = {{true, true, 0.0f, kEps}, {false, false, 0.5f, kEps}, {false, true, 0.2f, 0.0f}};
  for (const int64_t len : batch_lengths()) {
    const BatchCase c(len);
    const std::vector<float> rs = saved_rstd(c);
    for (const BwdVariant& v : variants) {
      BwdResult full(kBatchPlanes, len);
      run_backward(k, c, v, rs, 0, kBatchPlanes, 0, full);
      check_backward_accuracy(k, c, v, rs, full);
      for (const int in_place : {1, 2}) {
        BwdResult inp(kBatchPlanes, len);
        run_backward(k, c, v, rs, 0, kBatchPlanes, in_place, inp);
        expect(same_backward(c, full, inp, 0, kBatchPlanes, in_place), k.isa,
               in_place == 1 ? "plane_batch_backward.in_place_dy" : "plane_batch_backward.in_place_x", len, 0, 0);
      }
      bool ok = true;
      for (int64_t count = 1; count <= kBatchPlanes; ++count) {
        const int64_t s = (count * 7) % (kBatchPlanes - count + 1);
        BwdResult part(count, len);
        run_backward(k, c, v, rs, s, count, static_cast<int>(count % 3), part);
        ok = ok && same_backward(c, full, part, s, count, static_cast<int>(count % 3));
      }
      expect(ok, k.isa, "plane_batch_backward.same_bits_any_split", len, 0, 0);
    }
  }
}

}  // namespace
}  // namespace test
}  // namespace instnorm
