// Microkernel tests, XNNPACK style: every kernel of the manifest
// (microkernels.def) on every ISA table this binary can run, the Vec API of
// every ISA (vec_test.cc), and the dispatcher. Inputs end exactly at a
// PROT_NONE guard page (harness.h).
//
// Built by scripts/build-kernel-tests.sh for the host (scalar, AVX2 and
// AVX-512 when the CPU has them), with AVX-512 emulated (SIMDe), and for
// arm64 (run under qemu-aarch64). Prints one line per ISA, then
// "N passed, N failed" last.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "../kernels/dispatch.h"
#include "../kernels/microkernels.h"
#include "column_tests.h"
#include "dispatch_tests.h"
#include "harness.h"
#include "plane_batch_tests.h"
#include "plane_tests.h"
#include "row_tests.h"

namespace instnorm {
namespace test {

// One Vec API suite per ISA (vec_test.cc, compiled with that ISA's flags).
#define INSTNORM_ISA(name, arch, features, gcc_flags, msvc_flags) void name##_vec_tests();
#include "../kernels/isas.def"

namespace {

// The registry: one test_<name> per kernel of the manifest. A kernel
// without its test does not compile.
struct KernelTest {
  const char* name;
  void (*run)(const kernels::KernelTable&);
};
constexpr KernelTest kKernelTests[] = {
#define INSTNORM_KERNEL(family, name, ret, params) {#name, &test_##name},
#include "../kernels/microkernels.def"
};

struct VecSuite {
  const char* isa;
  void (*run)();
};

// The Vec suites of this build's architecture. The discarded branches do
// not reference other architectures' suites (not compiled in).
std::vector<VecSuite> vec_suites() {
  std::vector<VecSuite> out;
#define INSTNORM_ISA(name, arch, features, gcc_flags, msvc_flags) \
  if constexpr (kernels::built_for(#arch)) out.push_back({#name, &name##_vec_tests});
#include "../kernels/isas.def"
  return out;
}

// Runs f() and prints its counts as one line.
template <class F>
void counted(const char* label, int width, F f) {
  const int p0 = passed(), f0 = failed();
  f();
  if (width > 0) {
    std::printf("%s (width %d): %d passed, %d failed\n", label, width, passed() - p0, failed() - f0);
  } else {
    std::printf("%s: %d passed, %d failed\n", label, passed() - p0, failed() - f0);
  }
}

}  // namespace
}  // namespace test
}  // namespace instnorm

int main() {
  using namespace instnorm;
  std::vector<const kernels::KernelTable*> tables;
#if defined(INSTNORM_EMULATE_AVX512)
  // Emulated build: the AVX-512 code runs whatever this CPU has.
  tables.push_back(&kernels::avx512_table());
#else
  const kernels::KernelTable* supported[kernels::kMaxTables];
  tables.assign(supported, supported + kernels::supported_tables(supported));
#endif
  for (const kernels::KernelTable* t : tables) {
    test::counted(t->isa, t->vector_width, [&] {
      for (const test::KernelTest& kt : test::kKernelTests) kt.run(*t);
    });
  }
  for (const test::VecSuite& s : test::vec_suites()) {
    bool runs = false;
    for (const kernels::KernelTable* t : tables) runs = runs || std::strcmp(t->isa, s.isa) == 0;
    if (!runs) continue;  // the CPU lacks it (or the emulated build tests only AVX-512)
    const std::string label = std::string(s.isa) + " Vec API";
    test::counted(label.c_str(), 0, s.run);
  }
  test::counted("dispatch and Chan merge", 0, [] {
    test::test_select_table();
    test::test_borrowed();
    test::test_chan_merge();
  });
  std::printf("%d passed, %d failed\n", test::passed(), test::failed());
  return test::failed() == 0 && test::passed() > 0 ? 0 : 1;
}
