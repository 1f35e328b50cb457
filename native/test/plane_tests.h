// Tests of the plane kernels (moments, co_moments, affine, backward_apply):
// every size from 1 to 70 and around the block and chunk sizes, against
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

using kernels::CoMoments;
using kernels::KernelTable;
using kernels::Moments;

// One plane of x and g (dy) with its double references.
struct PlaneCase {
  int64_t n;
  Guarded &xb, &gb, &yb;
  float *x, *g, *y;
  double mx, mg, m2, g2, cxg;
  double sd, sdg;  // standard deviations of x and g
};

// Calls f(PlaneCase&) for every size and data pattern. Each case draws from
// its own seed, so every kernel's test sees the same data. Patterns:
// 0 = N(offset, 1) for offsets 0 and 1e4; 1 = a step of 1e4 every 1500
// elements; 2 = a spike of 1e6 at the start of every block (the
// first-element pivot is an outlier). 1 and 2 defeat a pivot carried over
// from the previous block.
template <class F>
void for_each_plane_case(F f) {
  std::vector<int64_t> sizes;
  for (int64_t n = 1; n <= 70; ++n) sizes.push_back(n);
  for (int64_t n : {127, 128, 129, 1023, 1024, 1025, 2047, 2049, 4099, 65536 + 17}) {
    sizes.push_back(n);
  }
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (const int pattern : {0, 1, 2}) {
    for (const double offset : {0.0, 1e4}) {
      if (pattern > 0 && offset != 0.0) continue;
      for (const int64_t n : sizes) {
        std::mt19937 rng(static_cast<uint32_t>(n * 16 + pattern * 2 + (offset != 0.0)));
        Guarded xb(n), yb(n), gb(n);
        PlaneCase c{n, xb, gb, yb, xb.data(), gb.data(), yb.data(), 0, 0, 0, 0, 0, 0, 0};
        float* x = c.x;
        float* g = c.g;
        for (int64_t i = 0; i < n; ++i) {
          x[i] = static_cast<float>(offset + normal(rng));
          g[i] = normal(rng) + 0.5f;
          if (pattern == 1 && (i / 1500) % 2 == 1) {
            x[i] += 1e4f;
            g[i] += 300.0f;
          }
          if (pattern == 2 && i % 1024 == 0) {
            x[i] = 1e6f;
            g[i] = -5e4f;
          }
        }
        double sx = 0, sg = 0;
        for (int64_t i = 0; i < n; ++i) {
          sx += x[i];
          sg += g[i];
        }
        c.mx = sx / n;
        c.mg = sg / n;
        for (int64_t i = 0; i < n; ++i) {
          c.m2 += (x[i] - c.mx) * (x[i] - c.mx);
          c.g2 += (g[i] - c.mg) * (g[i] - c.mg);
          c.cxg += (x[i] - c.mx) * (g[i] - c.mg);
        }
        // Errors are judged against each quantity's natural scale: a mean
        // against its data's standard deviation, the co-moment against
        // sqrt(M2_x * M2_dy) (its Cauchy-Schwarz bound).
        c.sd = std::sqrt(c.m2 / n) + 1e-30;
        c.sdg = std::sqrt(c.g2 / n) + 1e-30;
        f(c);
      }
    }
  }
}

void test_moments(const KernelTable& k) {
  for_each_plane_case([&](PlaneCase& c) {
    const int64_t n = c.n;
    const Moments mo = k.moments(c.x, n);
    expect(mo.count == n, k.isa, "moments.count", n, mo.count, n);
    expect(rel_err(mo.mean, c.mx, c.sd) < 1e-6, k.isa, "moments.mean", n, mo.mean, c.mx);
    expect(rel_err(mo.m2, c.m2, c.m2 + 1e-30) < 1e-5 || n == 1, k.isa, "moments.m2", n, mo.m2, c.m2);
  });
}

// Float64 accumulation: within 1e-11 of the double reference at every
// scale of the float range, and the same bits as the scalar table (the
// kernel promises identical results on every ISA).
void test_moments_f64(const KernelTable& k) {
  for_each_plane_case([&](PlaneCase& c) {
    const int64_t n = c.n;
    for (const double scale : {1.0, 1e-30, 1e30}) {
      Guarded sb(n);
      float* x = sb.data();
      for (int64_t i = 0; i < n; ++i) x[i] = static_cast<float>(c.x[i] * scale);
      double s = 0, m2 = 0;
      for (int64_t i = 0; i < n; ++i) s += x[i];
      const double mean = s / n;
      for (int64_t i = 0; i < n; ++i) m2 += (x[i] - mean) * (x[i] - mean);
      const Moments mo = k.moments_f64(x, n);
      const double sd = std::sqrt(m2 / n) + 1e-300;
      expect(mo.count == n, k.isa, "moments_f64.count", n, mo.count, n);
      expect(rel_err(mo.mean, mean, sd) < 1e-11, k.isa, "moments_f64.mean", n, mo.mean, mean);
      expect(rel_err(mo.m2, m2, m2 + 1e-300) < 1e-11 || n == 1, k.isa, "moments_f64.m2", n, mo.m2, m2);
      const Moments ref = kernels::scalar_table().moments_f64(x, n);
      expect(mo.mean == ref.mean && mo.m2 == ref.m2, k.isa, "moments_f64.same_bits_as_scalar", n, mo.m2, ref.m2);
    }
  });
}

void test_co_moments(const KernelTable& k) {
  for_each_plane_case([&](PlaneCase& c) {
    const int64_t n = c.n;
    const CoMoments cm = k.co_moments(c.g, c.x, n);
    expect(cm.count == n, k.isa, "co_moments.count", n, cm.count, n);
    expect(rel_err(cm.mean_x, c.mx, c.sd) < 1e-6, k.isa, "co_moments.mean_x", n, cm.mean_x, c.mx);
    expect(rel_err(cm.mean_dy, c.mg, c.sdg) < 1e-6, k.isa, "co_moments.mean_dy", n, cm.mean_dy, c.mg);
    expect(rel_err(cm.m2_x, c.m2, c.m2 + 1e-30) < 1e-5 || n == 1, k.isa, "co_moments.m2_x", n, cm.m2_x,
           c.m2);
    expect(rel_err(cm.c_x_dy, c.cxg, std::sqrt(c.m2 * c.g2) + 1e-30) < 1e-5, k.isa, "co_moments.c_x_dy",
           n, cm.c_x_dy, c.cxg);
  });
}

// y = (x - sub) * scale + shift, out of place then in place, streamed or not.
void test_affine(const KernelTable& k) {
  for_each_plane_case([&](PlaneCase& c) {
    const int64_t n = c.n;
    float* x = c.x;
    const float sub = static_cast<float>(c.mx), scale = 1.7f, shift = -0.3f;
    for (int variant = 0; variant < 4; ++variant) {
      const bool in_place = variant & 1, stream = variant & 2;
      float* out = in_place ? x : c.y;
      std::vector<float> xs(x, x + n);
      k.affine(x, out, n, sub, scale, shift, stream);
      double worst = 0;
      for (int64_t i = 0; i < n; ++i) {
        const double want = (static_cast<double>(xs[i]) - sub) * scale + shift;
        track(worst, std::fabs(out[i] - want) / (std::fabs(want) + 1.0));
      }
      expect(worst < 1e-6, k.isa,
             stream ? (in_place ? "affine.stream.in_place" : "affine.stream")
                    : (in_place ? "affine.in_place" : "affine"),
             n, worst, 0);
      if (in_place) std::memcpy(x, xs.data(), n * sizeof(float));
    }
    expect(c.xb.canaries_intact() && c.yb.canaries_intact(), k.isa, "affine.canaries", n, 0, 0);
  });
}

// dx = a (dy - dy_sub) + b (x - x_sub) + c, into y and in place into dy.
void test_backward_apply(const KernelTable& k) {
  for_each_plane_case([&](PlaneCase& c) {
    const int64_t n = c.n;
    float* g = c.g;
    const float sub = static_cast<float>(c.mx), gsub = static_cast<float>(c.mg);
    const float a = 0.9f, b = -0.2f, cc = 0.05f;
    for (int variant = 0; variant < 4; ++variant) {
      const bool in_place = variant & 1, stream = variant & 2;
      float* out = in_place ? g : c.y;
      std::vector<float> gs(g, g + n);
      k.backward_apply(g, c.x, out, n, gsub, sub, a, b, cc, stream);
      double worst = 0;
      for (int64_t i = 0; i < n; ++i) {
        const double want = a * (static_cast<double>(gs[i]) - gsub) +
                            b * (static_cast<double>(c.x[i]) - sub) + cc;
        track(worst, std::fabs(out[i] - want) / (std::fabs(want) + 1.0));
      }
      expect(worst < 1e-6, k.isa, in_place ? "backward_apply.in_place" : "backward_apply", n, worst, 0);
      if (in_place) std::memcpy(g, gs.data(), n * sizeof(float));
    }
    expect(c.gb.canaries_intact() && c.yb.canaries_intact(), k.isa, "backward_apply.canaries", n, 0,
           0);
  });
}

// The fused kernels: the same bits as their two plain kernels, for every
// pair of sizes (the applied plane and the next one), streamed or not, in
// place or not.
void test_affine_moments(const KernelTable& k) {
  for_each_plane_case([&](PlaneCase& c) {
    const int64_t n = c.n;
    for (const int64_t n_next : {n, n / 2 + 1, 2 * n + 3}) {
      Guarded nb(n_next), ya(n), yb(n);
      for (int64_t i = 0; i < n_next; ++i) nb.data()[i] = c.g[i % n] * 3.0f + 7.0f;
      for (int variant = 0; variant < 2; ++variant) {
        const bool stream = variant & 1;
        k.affine(c.x, ya.data(), n, 0.25f, 1.5f, -2.0f, stream);
        const Moments want = k.moments(nb.data(), n_next);
        const Moments got = k.affine_moments(c.x, yb.data(), n, 0.25f, 1.5f, -2.0f, stream, nb.data(), n_next);
        const bool same = std::memcmp(ya.data(), yb.data(), n * sizeof(float)) == 0 && got.count == want.count &&
                          got.mean == want.mean && got.m2 == want.m2;
        expect(same, k.isa, stream ? "affine_moments.stream.same_bits" : "affine_moments.same_bits", n, got.m2,
               want.m2);
      }
      expect(ya.canaries_intact() && yb.canaries_intact() && nb.canaries_intact(), k.isa,
             "affine_moments.canaries", n, 0, 0);
    }
  });
}

void test_backward_apply_co_moments(const KernelTable& k) {
  for_each_plane_case([&](PlaneCase& c) {
    const int64_t n = c.n;
    for (const int64_t n_next : {n, n / 2 + 1, 2 * n + 3}) {
      Guarded gb(n_next), xb(n_next), da(n), db(n);
      for (int64_t i = 0; i < n_next; ++i) {
        gb.data()[i] = c.g[i % n] - 1.0f;
        xb.data()[i] = c.x[(i * 7) % n] * 0.5f;
      }
      for (int variant = 0; variant < 2; ++variant) {
        const bool stream = variant & 1;
        k.backward_apply(c.g, c.x, da.data(), n, 0.5f, 0.25f, 0.9f, -0.2f, 0.05f, stream);
        const CoMoments want = k.co_moments(gb.data(), xb.data(), n_next);
        const CoMoments got = k.backward_apply_co_moments(c.g, c.x, db.data(), n, 0.5f, 0.25f, 0.9f, -0.2f, 0.05f,
                                                          stream, gb.data(), xb.data(), n_next);
        const bool same = std::memcmp(da.data(), db.data(), n * sizeof(float)) == 0 && got.count == want.count &&
                          got.mean_x == want.mean_x && got.mean_dy == want.mean_dy && got.m2_x == want.m2_x &&
                          got.c_x_dy == want.c_x_dy;
        expect(same, k.isa, stream ? "backward_apply_co_moments.stream.same_bits" : "backward_apply_co_moments.same_bits",
               n, got.c_x_dy, want.c_x_dy);
      }
      expect(da.canaries_intact() && db.canaries_intact() && gb.canaries_intact() && xb.canaries_intact(), k.isa,
             "backward_apply_co_moments.canaries", n, 0, 0);
    }
  });
}

}  // namespace
}  // namespace test
}  // namespace instnorm
