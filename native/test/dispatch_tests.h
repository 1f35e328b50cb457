// Tests of the dispatch layer (select_table, the INSTNORM_ISA cap) and of
// the Chan merge helpers (chan_merge.h). Included once, by
// microkernels_test.cc.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>

#include "../kernels/chan_merge.h"
#include "../kernels/dispatch.h"
#include "harness.h"

namespace instnorm {
namespace test {
namespace {

void expect_text(const std::string& got, const std::string& want, const char* what) {
  const bool ok = got == want;
  if (!ok) std::printf("FAIL %s: got \"%s\"\n     want \"%s\"\n", what, got.c_str(), want.c_str());
  expect(ok, "dispatch", what, 0, 0, 0);
}

void test_select_table() {
  namespace k = kernels;
  const k::KernelTable* tables[k::kMaxTables];
  const int count = k::supported_tables(tables);
  std::string error;
  expect(k::select_table(nullptr, &error) == tables[0] && k::select_table("", &error) == tables[0] &&
             error.empty(),
         "dispatch", "select_table.no_cap", count, 0, 0);
  // Every name of the list, in its order; this architecture's names.
  std::string all, mine;
  const char* other = nullptr;  // an ISA of another architecture
#define INSTNORM_ISA(name, arch, features, gcc_flags, msvc_flags)  \
  all += std::string(all.empty() ? "" : ", ") + #name;            \
  if (k::built_for(#arch)) {                                      \
    mine += std::string(mine.empty() ? "" : ", ") + #name;        \
  } else if (other == nullptr) {                                  \
    other = #name;                                                \
  }
#include "../kernels/isas.def"
  expect(k::select_table("sse9", &error) == nullptr, "dispatch", "select_table.unknown", 0, 0, 0);
  expect_text(error, "INSTNORM_ISA=sse9 is not an ISA name (expected one of " + all + ")",
              "select_table.unknown.message");
  if (other != nullptr) {
    error.clear();
    expect(k::select_table(other, &error) == nullptr, "dispatch", "select_table.other_arch", 0, 0, 0);
    expect_text(error,
                std::string("INSTNORM_ISA=") + other + " does not exist on this CPU architecture (" +
                    k::kTargetArch + ": " + mine + ")",
                "select_table.other_arch.message");
  }
  // A supported ISA as the cap selects itself; scalar always works.
  for (int i = 0; i < count; ++i) {
    error.clear();
    const k::KernelTable* t = k::select_table(tables[i]->isa, &error);
    expect(t == tables[i] && error.empty(), "dispatch", "select_table.supported", i, 0, 0);
  }
  expect(k::select_table("scalar", &error) == &k::scalar_table(), "dispatch", "select_table.scalar", 0, 0,
         0);
  // This architecture's ISAs the CPU lacks: the best supported one below.
  std::string rest = mine + ", ";
  for (size_t pos; (pos = rest.find(", ")) != std::string::npos; rest.erase(0, pos + 2)) {
    const std::string name = rest.substr(0, pos);
    if (k::find_table(name.c_str()) != nullptr) continue;
    const k::KernelTable* t = k::select_table(name.c_str(), &error);
    bool below = t != nullptr && mine.find(t->isa) < mine.find(name);
    expect(below, "dispatch", "select_table.above_cpu", 0, 0, 0);
  }
}

// The AVX-512 table the dispatcher hands out takes the plane-batch kernels
// from AVX2 (dispatch.cc, kBorrowed) and keeps its own others; the raw
// AVX-512 plane-batch kernels are still tested, in the emulated build.
void test_borrowed() {
  namespace k = kernels;
#if defined(__x86_64__) || defined(_M_X64)
  const k::KernelTable* wide = k::find_table("avx512");
  const k::KernelTable* narrow = k::find_table("avx2");
  if (wide == nullptr || narrow == nullptr) return;  // this CPU lacks one
  expect(wide->plane_batch_forward == narrow->plane_batch_forward &&
             wide->plane_batch_backward == narrow->plane_batch_backward,
         "dispatch", "borrowed.plane_batch", 0, 0, 0);
  expect(wide->moments == k::avx512_table().moments && wide->affine == k::avx512_table().affine &&
             std::strcmp(wide->isa, "avx512") == 0 && wide->vector_width == 16,
         "dispatch", "borrowed.own", 0, 0, 0);
#endif
}

// The helpers against the definition (two halves of one run merge into
// the whole run's statistics), and empty sides passing through.
void test_chan_merge() {
  namespace k = kernels;
  const double xs[] = {3.0, -1.0, 4.5, 10.0, 2.0, 2.0, -7.25};
  auto stats = [&](int lo, int hi) {
    double s = 0;
    for (int i = lo; i < hi; ++i) s += xs[i];
    const double mean = s / (hi - lo);
    double m2 = 0;
    for (int i = lo; i < hi; ++i) m2 += (xs[i] - mean) * (xs[i] - mean);
    return k::Moments{static_cast<double>(hi - lo), mean, m2};
  };
  const k::Moments a = stats(0, 3), b = stats(3, 7), whole = stats(0, 7);
  const k::Moments m = k::chan_merge(a, b);
  k::Moments acc = a;
  k::chan_accumulate(acc, b);
  for (const k::Moments& r : {m, acc}) {
    expect(r.count == 7 && std::fabs(r.mean - whole.mean) < 1e-12 && std::fabs(r.m2 - whole.m2) < 1e-12,
           "chan", "chan_merge.moments", 7, r.m2, whole.m2);
  }
  const k::Moments empty{0, 0, 0};
  const k::Moments pa = k::chan_merge(empty, a), pb = k::chan_merge(a, empty);
  expect(pa.count == a.count && pa.mean == a.mean && pa.m2 == a.m2 && pb.m2 == a.m2, "chan",
         "chan_merge.empty", 0, 0, 0);
  // Co-moments: dy = 2 x + 1, so c_x_dy = 2 M2 and mean_dy = 2 mean + 1.
  auto co = [](const k::Moments& s) {
    return k::CoMoments{s.count, s.mean, 2 * s.mean + 1, s.m2, 2 * s.m2};
  };
  const k::CoMoments cm = k::chan_merge(co(a), co(b));
  k::CoMoments cacc = co(a);
  k::chan_accumulate(cacc, co(b), k::chan_weights(a.count, b.count));
  for (const k::CoMoments& r : {cm, cacc}) {
    expect(r.count == 7 && std::fabs(r.mean_dy - (2 * whole.mean + 1)) < 1e-12 &&
               std::fabs(r.m2_x - whole.m2) < 1e-12 && std::fabs(r.c_x_dy - 2 * whole.m2) < 1e-11,
           "chan", "chan_merge.co_moments", 7, r.c_x_dy, 2 * whole.m2);
  }
}

}  // namespace
}  // namespace test
}  // namespace instnorm
