#include "harness.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>

namespace instnorm {
namespace test {
namespace {

int g_passed = 0, g_failed = 0;
constexpr size_t kCanaryBytes = 64;
constexpr unsigned char kCanary = 0xA5;

}  // namespace

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

int passed() { return g_passed; }
int failed() { return g_failed; }

Guarded::Guarded(int64_t n) {
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

Guarded::~Guarded() { munmap(base_, size_); }

float* Guarded::data() { return data_; }

bool Guarded::canaries_intact() const {
  const unsigned char* end = reinterpret_cast<const unsigned char*>(data_);
  for (const unsigned char* p = base_; p < end; ++p) {
    if (*p != kCanary) return false;
  }
  return true;
}

double rel_err(double got, double want, double scale) {
  return std::fabs(got - want) / (scale > 0 ? scale : 1.0);
}

void track(double& worst, double e) {
  if (!(e <= worst) && worst == worst) worst = e;
}

void Worst::add(double e, double g, double w) {
  if (!(e <= err)) {
    err = e;
    got = g;
    want = w;
  }
}

void Worst::check(const char* isa, const char* what, int64_t n, double tol) const {
  expect(err < tol, isa, what, n, got, want);
}

}  // namespace test
}  // namespace instnorm
