// The C++ test harness shared by the kernel tests (microkernels_test.cc and
// the family test files it includes) and the Vec API tests (vec_test.cc).
//
// Every function here is defined out of line in harness.cc, compiled with
// baseline flags: vec_test.cc is compiled once per ISA with that ISA's
// flags, and an inline function it shared with baseline code would be one
// symbol to the linker, which might keep the AVX-512 copy for everyone (see
// native/README.md, "One-definition rule").
#pragma once
#include <cstddef>
#include <cstdint>

namespace instnorm {
namespace test {

// Counts a check; prints the first 30 failures.
void expect(bool ok, const char* isa, const char* what, int64_t n, double got, double want);
int passed();
int failed();

// n floats whose last element sits right before an inaccessible page, so a
// tail that reads or writes one float too far crashes the test instead of
// passing; canary bytes before the data catch writes below it.
class Guarded {
 public:
  explicit Guarded(int64_t n);
  ~Guarded();
  Guarded(const Guarded&) = delete;
  Guarded& operator=(const Guarded&) = delete;
  float* data();
  bool canaries_intact() const;

 private:
  size_t page_, size_;
  unsigned char* base_;
  float* data_;
};

// |got - want| / scale (scale 0 counts as 1).
double rel_err(double got, double want, double scale);

// worst = max(worst, e), except that a NaN (a kernel writing garbage) sticks
// and fails the check (std::fmax would drop it).
void track(double& worst, double e);

// Worst error over many values, reported once per (case, quantity).
struct Worst {
  double err = 0, got = 0, want = 0;
  void add(double e, double g, double w);  // NaN counts as worst
  void check(const char* isa, const char* what, int64_t n, double tol) const;
};

}  // namespace test
}  // namespace instnorm
