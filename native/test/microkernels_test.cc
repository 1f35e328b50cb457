// Microkernel tests, XNNPACK style: every kernel of every ISA table this
// binary can run, on every size from 1 to 70 and around the block and chunk
// sizes, against double-precision references. Inputs end exactly at a
// PROT_NONE guard page, so a tail that reads or writes one float too far
// crashes the test instead of passing; canaries before the data catch
// writes below it.
//
// Built by scripts/build-kernel-tests.sh for the host (scalar, AVX2 and
// AVX-512 when the CPU has them), with AVX-512 emulated (SIMDe), and for
// arm64 (run under qemu-aarch64). Prints "N passed, N failed".
#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "../kernels/dispatch.h"
#include "../kernels/microkernels.h"

namespace {

using instnorm::kernels::CoMoments;
using instnorm::kernels::KernelTable;
using instnorm::kernels::Moments;

int g_passed = 0, g_failed = 0;

void expect(bool ok, const char* isa, const char* what, int64_t n, double got, double want) {
  if (ok) {
    ++g_passed;
  } else {
    ++g_failed;
    if (g_failed <= 30) {
      std::printf("FAIL %s %s n=%lld: got %.10g want %.10g\n", isa, what,
                  static_cast<long long>(n), got, want);
    }
  }
}

// n floats whose last element sits right before an inaccessible page.
class Guarded {
 public:
  explicit Guarded(int64_t n) : n_(n) {
    page_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    const size_t bytes = static_cast<size_t>(n) * sizeof(float);
    const size_t pages = (bytes + kCanaryBytes + page_ - 1) / page_;
    size_ = (pages + 1) * page_;
    base_ = static_cast<unsigned char*>(
        mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    mprotect(base_ + pages * page_, page_, PROT_NONE);
    data_ = reinterpret_cast<float*>(base_ + pages * page_ - bytes);
    std::memset(base_, kCanary, pages * page_ - bytes);
  }
  ~Guarded() { munmap(base_, size_); }
  Guarded(const Guarded&) = delete;
  Guarded& operator=(const Guarded&) = delete;
  float* data() { return data_; }
  bool canaries_intact() const {
    const unsigned char* end = reinterpret_cast<const unsigned char*>(data_);
    for (const unsigned char* p = base_; p < end; ++p) {
      if (*p != kCanary) return false;
    }
    return true;
  }

 private:
  static constexpr size_t kCanaryBytes = 64;
  static constexpr unsigned char kCanary = 0xA5;
  int64_t n_;
  size_t page_, size_;
  unsigned char* base_;
  float* data_;
};

double rel_err(double got, double want, double scale) {
  return std::fabs(got - want) / (scale > 0 ? scale : 1.0);
}

void test_table(const KernelTable& k, std::mt19937& rng) {
  std::vector<int64_t> sizes;
  for (int64_t n = 1; n <= 70; ++n) sizes.push_back(n);
  for (int64_t n : {127, 128, 129, 1023, 1024, 1025, 2047, 2049, 4099, 65536 + 17}) {
    sizes.push_back(n);
  }
  std::normal_distribution<float> normal(0.0f, 1.0f);
  // Patterns that defeat a pivot carried over from the previous block:
  // 0 = N(offset, 1); 1 = a step of 1e4 every 1500 elements; 2 = a spike of
  // 1e6 at the start of every block (the first-element pivot is an outlier).
  for (const int pattern : {0, 1, 2}) {
  for (const double offset : {0.0, 1e4}) {
    if (pattern > 0 && offset != 0.0) continue;
    for (const int64_t n : sizes) {
      Guarded xb(n), yb(n), gb(n);
      float* x = xb.data();
      float* y = yb.data();
      float* g = gb.data();
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
      // Double references.
      double sx = 0, sg = 0;
      for (int64_t i = 0; i < n; ++i) { sx += x[i]; sg += g[i]; }
      const double mx = sx / n, mg = sg / n;
      double m2 = 0, g2 = 0, cxg = 0;
      for (int64_t i = 0; i < n; ++i) {
        m2 += (x[i] - mx) * (x[i] - mx);
        g2 += (g[i] - mg) * (g[i] - mg);
        cxg += (x[i] - mx) * (g[i] - mg);
      }
      // Errors are judged against each quantity's natural scale: a mean
      // against its data's standard deviation, the co-moment against
      // sqrt(M2_x * M2_dy) (its Cauchy-Schwarz bound).
      const double sd = std::sqrt(m2 / n) + 1e-30;
      const double sdg = std::sqrt(g2 / n) + 1e-30;

      const Moments mo = k.moments(x, n);
      expect(mo.count == n, k.isa, "moments.count", n, mo.count, n);
      expect(rel_err(mo.mean, mx, sd) < 1e-6, k.isa, "moments.mean", n, mo.mean, mx);
      expect(rel_err(mo.m2, m2, m2 + 1e-30) < 1e-5 || n == 1, k.isa, "moments.m2", n, mo.m2, m2);

      const CoMoments cm = k.co_moments(g, x, n);
      expect(cm.count == n, k.isa, "co_moments.count", n, cm.count, n);
      expect(rel_err(cm.mean_x, mx, sd) < 1e-6, k.isa, "co_moments.mean_x", n, cm.mean_x, mx);
      expect(rel_err(cm.mean_dy, mg, sdg) < 1e-6, k.isa, "co_moments.mean_dy", n, cm.mean_dy, mg);
      expect(rel_err(cm.m2_x, m2, m2 + 1e-30) < 1e-5 || n == 1, k.isa, "co_moments.m2_x", n, cm.m2_x, m2);
      expect(rel_err(cm.c_x_dy, cxg, std::sqrt(m2 * g2) + 1e-30) < 1e-5, k.isa, "co_moments.c_x_dy", n, cm.c_x_dy, cxg);

      // affine: y = (x - sub) * scale + shift, out of place then in place.
      const float sub = static_cast<float>(mx), scale = 1.7f, shift = -0.3f;
      for (int variant = 0; variant < 4; ++variant) {
        const bool in_place = variant & 1, stream = variant & 2;
        float* out = in_place ? x : y;
        std::vector<float> xs(x, x + n);
        k.affine(x, out, n, sub, scale, shift, stream);
        double worst = 0;
        for (int64_t i = 0; i < n; ++i) {
          const double want = (static_cast<double>(xs[i]) - sub) * scale + shift;
          worst = std::fmax(worst, std::fabs(out[i] - want) / (std::fabs(want) + 1.0));
        }
        expect(worst < 1e-6, k.isa, stream ? (in_place ? "affine.stream.in_place" : "affine.stream") : (in_place ? "affine.in_place" : "affine"), n, worst, 0);
        if (in_place) std::memcpy(x, xs.data(), n * sizeof(float));
      }
      expect(xb.canaries_intact() && yb.canaries_intact(), k.isa, "affine.canaries", n, 0, 0);

      // backward_apply: dx = a (dy - dy_sub) + b (x - x_sub) + c, into y and in place into g.
      const float a = 0.9f, b = -0.2f, c = 0.05f, gsub = static_cast<float>(mg);
      for (int variant = 0; variant < 4; ++variant) {
        const bool in_place = variant & 1, stream = variant & 2;
        float* out = in_place ? g : y;
        std::vector<float> gs(g, g + n);
        k.backward_apply(g, x, out, n, gsub, sub, a, b, c, stream);
        double worst = 0;
        for (int64_t i = 0; i < n; ++i) {
          const double want = a * (static_cast<double>(gs[i]) - gsub) + b * (static_cast<double>(x[i]) - sub) + c;
          worst = std::fmax(worst, std::fabs(out[i] - want) / (std::fabs(want) + 1.0));
        }
        expect(worst < 1e-6, k.isa, in_place ? "backward_apply.in_place" : "backward_apply", n, worst, 0);
        if (in_place) std::memcpy(g, gs.data(), n * sizeof(float));
      }
      expect(gb.canaries_intact() && yb.canaries_intact(), k.isa, "backward_apply.canaries", n, 0, 0);
    }
  }
  }
}

}  // namespace

int main() {
  std::mt19937 rng(12345);
  std::vector<const KernelTable*> tables;
#if defined(INSTNORM_EMULATE_AVX512)
  // Emulated build: the AVX-512 table runs whatever this CPU has.
  tables.push_back(&instnorm::kernels::avx512_table());
#else
  const KernelTable* supported[instnorm::kernels::kMaxTables];
  const int count = instnorm::kernels::supported_tables(supported);
  tables.assign(supported, supported + count);
#endif
  for (const KernelTable* t : tables) {
    const int before_fail = g_failed, before_pass = g_passed;
    test_table(*t, rng);
    std::printf("%s (width %d): %d passed, %d failed\n", t->isa, t->vector_width,
                g_passed - before_pass, g_failed - before_fail);
  }
  std::printf("%d passed, %d failed\n", g_passed, g_failed);
  return g_failed == 0 && g_passed > 0 ? 0 : 1;
}
