// Tests of the row (layer-norm) kernels: affine_elementwise,
// row_backward_reduce, row_backward_apply, on x = offset + noise, against
// double-precision references. Included once, by microkernels_test.cc.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "../kernels/microkernels.h"
#include "harness.h"

namespace instnorm {
namespace test {
namespace {

using kernels::KernelTable;

struct RowCase {
  int64_t n;
  Guarded &xb, &yb, &gb, &bb, &db, &dgb, &dbb;
  float *x, *y, *g, *b, *dy, *dg, *dbacc;
  float sub, scale, shift;

  // xhat of xs[i], and the scale of its error: its terms, not its
  // (possibly cancelled) value.
  double xhat(const float* xs, int64_t i) const {
    return (static_cast<double>(xs[i]) - sub) * scale + shift;
  }
  double xhat_mag(const float* xs, int64_t i) const {
    return std::fabs((static_cast<double>(xs[i]) - sub) * scale) + std::fabs(shift);
  }
};

// Calls f(RowCase&) for sizes 1 to 70 and around the block size, with
// offsets 0 and 1e4; each case from its own seed.
template <class F>
void for_each_row_case(F f) {
  std::vector<int64_t> sizes;
  for (int64_t n = 1; n <= 70; ++n) sizes.push_back(n);
  for (int64_t n : {1023, 1024, 1025, 3000}) sizes.push_back(n);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (const double offset : {0.0, 1e4}) {
    for (const int64_t n : sizes) {
      std::mt19937 rng(static_cast<uint32_t>(n * 2 + (offset != 0.0)));
      Guarded xb(n), yb(n), gb(n), bb(n), db(n), dgb(n), dbb(n);
      RowCase c{n, xb, yb, gb, bb, db, dgb, dbb, xb.data(), yb.data(), gb.data(), bb.data(),
                db.data(), dgb.data(), dbb.data(), 0.0f, 0.8f, 0.1f};
      double sx = 0;
      for (int64_t i = 0; i < n; ++i) {
        c.x[i] = static_cast<float>(offset + normal(rng));
        c.g[i] = 1.0f + 0.5f * normal(rng);
        c.b[i] = 0.3f * normal(rng);
        c.dy[i] = normal(rng) + 0.2f;
        c.dg[i] = normal(rng);
        c.dbacc[i] = normal(rng);
        sx += c.x[i];
      }
      c.sub = static_cast<float>(sx / n);
      f(c);
    }
  }
}

void test_affine_elementwise(const KernelTable& k) {
  for_each_row_case([&](RowCase& c) {
    const int64_t n = c.n;
    for (int variant = 0; variant < 4; ++variant) {
      const bool in_place = variant & 1, stream = variant & 2;
      float* out = in_place ? c.x : c.y;
      std::vector<float> xs(c.x, c.x + n);
      k.affine_elementwise(c.x, out, n, c.sub, c.scale, c.shift, c.g, c.b, stream);
      double worst = 0;
      for (int64_t i = 0; i < n; ++i) {
        const double want = c.xhat(xs.data(), i) * c.g[i] + c.b[i];
        const double mag = c.xhat_mag(xs.data(), i) * std::fabs(c.g[i]) + std::fabs(c.b[i]) + 1e-30;
        track(worst, std::fabs(out[i] - want) / mag);
      }
      expect(worst < 1e-6, k.isa,
             stream ? (in_place ? "affine_elementwise.stream.in_place" : "affine_elementwise.stream")
                    : (in_place ? "affine_elementwise.in_place" : "affine_elementwise"),
             n, worst, 0);
      if (in_place) std::memcpy(c.x, xs.data(), n * sizeof(float));
    }
    expect(c.xb.canaries_intact() && c.yb.canaries_intact(), k.isa, "affine_elementwise.canaries", n,
           0, 0);
  });
}

void test_row_backward_reduce(const KernelTable& k) {
  for_each_row_case([&](RowCase& c) {
    const int64_t n = c.n;
    std::vector<float> dg0(c.dg, c.dg + n), db0(c.dbacc, c.dbacc + n);
    const kernels::RowSums rs =
        k.row_backward_reduce(c.dy, c.x, c.g, n, c.sub, c.scale, c.shift, c.dg, c.dbacc);
    double s1 = 0, s2 = 0, a1 = 0, a2 = 0, wdg = 0, wdb = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double gd = static_cast<double>(c.g[i]) * c.dy[i];
      const double xh = c.xhat(c.x, i);
      s1 += gd;
      s2 += gd * xh;
      a1 += std::fabs(gd);
      a2 += std::fabs(gd) * c.xhat_mag(c.x, i);
      const double want_dg = dg0[i] + static_cast<double>(c.dy[i]) * xh;
      track(wdg, std::fabs(c.dg[i] - want_dg) /
                     (std::fabs(dg0[i]) + std::fabs(c.dy[i]) * c.xhat_mag(c.x, i) + 1e-30));
      const double want_db = static_cast<double>(db0[i]) + c.dy[i];
      track(wdb, std::fabs(c.dbacc[i] - want_db) / (std::fabs(db0[i]) + std::fabs(c.dy[i]) + 1e-30));
    }
    expect(rel_err(rs.g_dy, s1, a1) < 1e-5, k.isa, "row_backward_reduce.g_dy", n, rs.g_dy, s1);
    expect(rel_err(rs.g_dy_xhat, s2, a2) < 1e-5, k.isa, "row_backward_reduce.g_dy_xhat", n,
           rs.g_dy_xhat, s2);
    expect(wdg < 1e-6, k.isa, "row_backward_reduce.dg_acc", n, wdg, 0);
    expect(wdb < 1e-6, k.isa, "row_backward_reduce.db_acc", n, wdb, 0);
    expect(c.dgb.canaries_intact() && c.dbb.canaries_intact(), k.isa, "row_backward_reduce.canaries",
           n, 0, 0);
  });
}

void test_row_backward_apply(const KernelTable& k) {
  for_each_row_case([&](RowCase& c) {
    const int64_t n = c.n;
    const float k1 = 0.7f, k2 = -0.05f, k3 = 0.3f;
    for (int variant = 0; variant < 6; ++variant) {  // into y, in place into dy, into x
      const int target = variant % 3;
      const bool stream = variant >= 3;
      float* out = target == 0 ? c.y : target == 1 ? c.dy : c.x;
      std::vector<float> ds(c.dy, c.dy + n), xs(c.x, c.x + n);
      k.row_backward_apply(c.dy, c.x, c.g, out, n, c.sub, c.scale, c.shift, k1, k2, k3, stream);
      double worst = 0;
      for (int64_t i = 0; i < n; ++i) {
        const double t1 = static_cast<double>(k1) * c.g[i] * ds[i];
        const double want = t1 + k2 + k3 * c.xhat(xs.data(), i);
        const double mag = std::fabs(t1) + std::fabs(k2) + std::fabs(k3) * c.xhat_mag(xs.data(), i);
        track(worst, std::fabs(out[i] - want) / mag);
      }
      static const char* names[6] = {"row_backward_apply", "row_backward_apply.in_place_dy",
                                     "row_backward_apply.in_place_x", "row_backward_apply.stream",
                                     "row_backward_apply.stream.in_place_dy",
                                     "row_backward_apply.stream.in_place_x"};
      expect(worst < 1e-6, k.isa, names[variant], n, worst, 0);
      std::memcpy(c.dy, ds.data(), n * sizeof(float));
      std::memcpy(c.x, xs.data(), n * sizeof(float));
    }
    expect(c.xb.canaries_intact() && c.yb.canaries_intact() && c.db.canaries_intact(), k.isa,
           "row_backward_apply.canaries", n, 0, 0);
  });
}

}  // namespace
}  // namespace test
}  // namespace instnorm
