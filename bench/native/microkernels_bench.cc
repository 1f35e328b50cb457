// Per-microkernel timings (XNNPACK style), against memcpy of the same
// bytes, on one thread: which kernel is far from the memory floor, and by how much.
// Built and run by scripts/bench-kernels.sh [C M [isa]].
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "../../native/kernels/dispatch.h"
#include "../../native/ops/group_norm.h"

namespace {

template <class F>
double best_ms(F f, int reps) {
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    const auto t1 = std::chrono::steady_clock::now();
    best = std::min(best, std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace instnorm;
  const int64_t N = 1, C = argc > 1 ? std::atoll(argv[1]) : 64, M = argc > 2 ? std::atoll(argv[2]) : 65536;
  const int64_t n = N * C * M;
  std::vector<float> x(n), y(n), dy(n), dx(n), mean(C), rstd(C), dg(C), db(C);
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (int64_t i = 0; i < n; ++i) { x[i] = 3.0f + normal(rng); dy[i] = normal(rng); }
  const int reps = 15;
  const double mc = best_ms([&] { std::memcpy(y.data(), x.data(), n * 4); }, reps);
  std::printf("shape 1x%lldx%lld (%.1f MiB), memcpy %.3f ms\n", (long long)C, (long long)M, n * 4 / 1048576.0, mc);
  const kernels::KernelTable* tables[kernels::kMaxTables];
  const int count = kernels::supported_tables(tables);
  const char* only = argc > 3 ? argv[3] : nullptr;  // optional: one ISA
  for (int t = 0; t < count; ++t) {
    const kernels::KernelTable& k = *tables[t];
    if (only && std::strcmp(only, k.isa) != 0) continue;
    const double mo = best_ms([&] { for (int64_t p = 0; p < C; ++p) k.moments(x.data() + p * M, M); }, reps);
    const double af = best_ms([&] { for (int64_t p = 0; p < C; ++p) k.affine(x.data() + p * M, y.data() + p * M, M, 3.f, 1.f, 0.f, false); }, reps);
    const double afs = best_ms([&] { for (int64_t p = 0; p < C; ++p) k.affine(x.data() + p * M, y.data() + p * M, M, 3.f, 1.f, 0.f, true); }, reps);
    const double cm = best_ms([&] { for (int64_t p = 0; p < C; ++p) k.co_moments(dy.data() + p * M, x.data() + p * M, M); }, reps);
    const double ba = best_ms([&] { for (int64_t p = 0; p < C; ++p) k.backward_apply(dy.data() + p * M, x.data() + p * M, dx.data() + p * M, M, 0.f, 3.f, 1.f, 0.5f, 0.1f, false); }, reps);
    const double fw = best_ms([&] { ops::group_norm_forward(k, {x.data(), y.data(), N, C, 1, M, nullptr, nullptr, false, 0.0, 1e-5, mean.data(), rstd.data(), 1}); }, reps);
    const double bw = best_ms([&] { ops::group_norm_backward(k, {dy.data(), x.data(), dx.data(), dg.data(), db.data(), N, C, 1, M, nullptr, false, 0.0, mean.data(), rstd.data(), 1e-5, 1}); }, reps);
    std::printf("%-7s moments %.3f  affine %.3f (stream %.3f)  co_moments %.3f  backward_apply %.3f | forward %.3f (%.2fx memcpy)  backward %.3f (%.2fx)\n",
                k.isa, mo, af, afs, cm, ba, fw, fw / mc, bw, bw / mc);
  }
  return 0;
}
