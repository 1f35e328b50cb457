// One op of the op layer (native/ops), called `reps` times on one shape,
// for callgrind (bench/profile.mjs runs it): the calls are made from
// profiled_op(), and a memcpy of the same bytes from profiled_memcpy(), so
// that `--toggle-collect` counts exactly the instructions of those calls.
// Also prints the best time per call and memcpy's, for a quick look
// without valgrind.
//
//   op_profile <in|gn|ln> <forward|backward> <NCHW|NHWC> <isa> <threads> <reps> <groups|rank> <dims...>
//
// in/gn: dims [N, C, spatial...]; the third-last argument is the group
// count (ignored for in). ln: dims [..., normalized], the last `rank` dims
// normalized. Backward runs with the forward's saved statistics and an
// affine gamma, as the bench does.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "../../native/kernels/dispatch.h"
#include "../../native/ops/group_norm.h"
#include "../../native/ops/layer_norm.h"

using namespace instnorm;

// Kept out of line (and out of the optimizer's sight) so that callgrind
// can toggle collection on entering them.
__attribute__((noinline)) void profiled_op(const std::function<void()>& f, int reps) {
  for (int r = 0; r < reps; ++r) f();
  asm volatile("" ::: "memory");
}
__attribute__((noinline)) void profiled_memcpy(float* dst, const float* src, int64_t n, int reps) {
  for (int r = 0; r < reps; ++r) {
    std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
    asm volatile("" ::: "memory");
  }
}

namespace {

struct Buf {
  float* p;
  explicit Buf(int64_t n) : p(static_cast<float*>(std::aligned_alloc(64, ((n * 4 + 63) / 64) * 64))) {}
  ~Buf() { std::free(p); }
};

double best_us(const std::function<void()>& f) {
  double best = 1e30;
  for (int r = 0; r < 15; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

int usage() {
  std::fprintf(stderr, "usage: op_profile <in|gn|ln> <forward|backward> <NCHW|NHWC> <isa> <threads> <reps> <groups|rank> <dims...>\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 10) return usage();
  const std::string op = argv[1], pass = argv[2], layout = argv[3];
  const char* isa = argv[4];
  const int threads = std::atoi(argv[5]), reps = std::atoi(argv[6]);
  const int64_t extra = std::atol(argv[7]);
  std::vector<int64_t> dims;
  for (int i = 8; i < argc; ++i) dims.push_back(std::atol(argv[i]));
  int64_t numel = 1;
  for (int64_t d : dims) numel *= d;
  const kernels::KernelTable* k = kernels::find_table(isa);
  if (!k || threads < 1 || reps < 1 || numel < 1) return usage();
  const ops::Context ctx{*k, threads};
  const bool backward = pass == "backward";

  Buf x(numel), y(numel), dy(numel), dx(numel), copy(numel);
  for (int64_t i = 0; i < numel; ++i) {  // a mean far from 0, as real activations
    x.p[i] = 3.0f + std::sin(0.37f * static_cast<float>(i)) * 2.0f;
    dy.p[i] = std::cos(0.11f * static_cast<float>(i));
  }
  std::function<void()> call;
  std::vector<float> gamma, beta, mean, rstd, dgamma, dbeta;
  ops::GroupNormForward gf{};
  ops::GroupNormBackward gb{};
  ops::LayerNormForward lf{};
  ops::LayerNormBackward lb{};
  if (op == "in" || op == "gn") {
    if (dims.size() < 3) return usage();
    const int64_t N = dims[0], C = layout == "NHWC" ? dims.back() : dims[1];
    const int64_t G = op == "in" ? C : extra;
    if (G < 1 || C % G) return usage();
    gamma.assign(C, 1.5f);
    beta.assign(C, 0.25f);
    mean.resize(N * G);
    rstd.resize(N * G);
    dgamma.resize(C);
    dbeta.resize(C);
    static_cast<ops::GroupShape&>(gf) = {N, C, numel / (N * C), G, layout == "NHWC", ops::kPerChannel, 1, 0.0, 1e-5};
    gf.x = x.p;
    gf.y = y.p;
    gf.gamma = gamma.data();
    gf.beta = beta.data();
    gf.mean = mean.data();
    gf.rstd = rstd.data();
    ops::group_norm_forward(ctx, gf);
    static_cast<ops::GroupShape&>(gb) = gf;
    gb.dy = dy.p;
    gb.x = x.p;
    gb.dx = dx.p;
    gb.dgamma = dgamma.data();
    gb.dbeta = dbeta.data();
    gb.gamma = gamma.data();
    gb.mean = mean.data();
    gb.rstd = rstd.data();
    call = backward ? std::function<void()>([&] { ops::group_norm_backward(ctx, gb); })
                    : std::function<void()>([&] { ops::group_norm_forward(ctx, gf); });
  } else if (op == "ln") {
    if (extra < 1 || extra > static_cast<int64_t>(dims.size())) return usage();
    int64_t L = 1;
    for (size_t i = dims.size() - extra; i < dims.size(); ++i) L *= dims[i];
    const int64_t R = numel / L;
    gamma.assign(L, 1.5f);
    beta.assign(L, 0.25f);
    mean.resize(R);
    rstd.resize(R);
    dgamma.resize(L);
    dbeta.resize(L);
    static_cast<ops::RowShape&>(lf) = {R, L, 1e-5};
    lf.x = x.p;
    lf.y = y.p;
    lf.gamma = gamma.data();
    lf.beta = beta.data();
    lf.mean = mean.data();
    lf.rstd = rstd.data();
    ops::layer_norm_forward(ctx, lf);
    static_cast<ops::RowShape&>(lb) = lf;
    lb.dy = dy.p;
    lb.x = x.p;
    lb.dx = dx.p;
    lb.dgamma = dgamma.data();
    lb.dbeta = dbeta.data();
    lb.gamma = gamma.data();
    lb.mean = mean.data();
    lb.rstd = rstd.data();
    call = backward ? std::function<void()>([&] { ops::layer_norm_backward(ctx, lb); })
                    : std::function<void()>([&] { ops::layer_norm_forward(ctx, lf); });
  } else {
    return usage();
  }

  call();  // warm: pages, pool
  profiled_op(call, reps);
  profiled_memcpy(copy.p, x.p, numel, reps);
  const double op_us = best_us(call);
  const double copy_us = best_us([&] { std::memcpy(copy.p, x.p, static_cast<size_t>(numel) * sizeof(float)); });
  std::printf("numel %lld reps %d op %.3f us memcpy %.3f us ratio %.2f\n", static_cast<long long>(numel), reps, op_us,
              copy_us, op_us / copy_us);
  return 0;
}
