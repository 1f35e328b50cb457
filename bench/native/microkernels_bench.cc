// Per-microkernel timings (XNNPACK style), next to memcpy of the same
// bytes, on one thread: which kernel is far from the memory floor, and by
// how much. Every kernel of the manifest (microkernels.def) has its
// bench_<name> below (a kernel without one does not compile), run on every
// ISA this CPU supports.
// Built and run by scripts/bench-kernels.sh [C M [isa]]: C planes of M
// floats (default 64 x 65536, 16 MiB), seen by the column kernels as M rows
// of C channels and by the row kernels as C rows of M.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "../../native/kernels/dispatch.h"
#include "../../native/kernels/microkernels.h"

namespace {

using instnorm::kernels::CoMoments;
using instnorm::kernels::KernelTable;
using instnorm::kernels::Moments;

constexpr int kReps = 15;

template <class F>
double best_ms(F f) {
  double best = 1e30;
  for (int r = 0; r < kReps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    const auto t1 = std::chrono::steady_clock::now();
    best = std::min(best, std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  return best;
}

// Inputs and outputs shared by every kernel: n = C * M floats each, plus
// per-channel (C) and per-position (M) coefficients.
struct Data {
  int64_t C, M, n;
  std::vector<float> x, y, dy, dx;
  std::vector<float> ones_m, zeros_m, acc_a, acc_b;        // length M (row kernels)
  std::vector<float> sub, scale, shift, ca, cb, cc;        // length C (column kernels)
  std::vector<Moments> mo;
  std::vector<CoMoments> cm;
  std::vector<float> mean, rstd;                           // length C (plane batches)
  std::vector<double> share_g, share_b;
  std::vector<uint8_t> exact;
  Data(int64_t c, int64_t m)
      : C(c), M(m), n(c * m), x(n), y(n), dy(n), dx(n), ones_m(m, 1.0f), zeros_m(m, 0.0f),
        acc_a(m, 0.0f), acc_b(m, 0.0f), sub(c, 3.0f), scale(c, 1.0f), shift(c, 0.0f), ca(c, 1.0f),
        cb(c, 0.5f), cc(c, 0.1f), mo(c), cm(c), mean(c), rstd(c), share_g(c), share_b(c), exact(c) {
    std::mt19937 rng(7);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (int64_t i = 0; i < n; ++i) {
      x[i] = 3.0f + normal(rng);
      dy[i] = normal(rng);
    }
  }
};

// One kernel's timings on one ISA: a label per variant (plain, stream).
struct Timings {
  std::vector<std::pair<std::string, double>> rows;
  template <class F>
  void time(const std::string& label, F f) {
    rows.push_back({label, best_ms(f)});
  }
};

// ---- plane: C planes of M ----
void bench_moments(const KernelTable& k, Data& d, Timings& t) {
  t.time("moments", [&] { for (int64_t p = 0; p < d.C; ++p) k.moments(d.x.data() + p * d.M, d.M); });
}
// The fused kernels: plane p's apply along plane p+1's statistics (the
// pair of plain kernels this replaces is moments + affine, above).
void bench_affine_moments(const KernelTable& k, Data& d, Timings& t) {
  for (const bool stream : {false, true}) {
    t.time(stream ? "affine_moments.stream" : "affine_moments", [&] {
      k.moments(d.x.data(), d.M);
      for (int64_t p = 0; p < d.C; ++p) {
        const int64_t o = p * d.M, next = p + 1 < d.C ? o + d.M : o;
        k.affine_moments(d.x.data() + o, d.y.data() + o, d.M, 3.f, 1.f, 0.f, stream, d.x.data() + next, d.M);
      }
    });
  }
}
void bench_backward_apply_co_moments(const KernelTable& k, Data& d, Timings& t) {
  for (const bool stream : {false, true}) {
    t.time(stream ? "backward_apply_co_moments.stream" : "backward_apply_co_moments", [&] {
      k.co_moments(d.dy.data(), d.x.data(), d.M);
      for (int64_t p = 0; p < d.C; ++p) {
        const int64_t o = p * d.M, next = p + 1 < d.C ? o + d.M : o;
        k.backward_apply_co_moments(d.dy.data() + o, d.x.data() + o, d.dx.data() + o, d.M, 0.f, 3.f, 1.f, 0.5f, 0.1f,
                                    stream, d.dy.data() + next, d.x.data() + next, d.M);
      }
    });
  }
}
void bench_moments_f64(const KernelTable& k, Data& d, Timings& t) {
  t.time("moments_f64", [&] { for (int64_t p = 0; p < d.C; ++p) k.moments_f64(d.x.data() + p * d.M, d.M); });
}
void bench_affine(const KernelTable& k, Data& d, Timings& t) {
  for (const bool stream : {false, true}) {
    t.time(stream ? "affine.stream" : "affine", [&] {
      for (int64_t p = 0; p < d.C; ++p) {
        k.affine(d.x.data() + p * d.M, d.y.data() + p * d.M, d.M, 3.f, 1.f, 0.f, stream);
      }
    });
  }
}
void bench_co_moments(const KernelTable& k, Data& d, Timings& t) {
  t.time("co_moments", [&] {
    for (int64_t p = 0; p < d.C; ++p) k.co_moments(d.dy.data() + p * d.M, d.x.data() + p * d.M, d.M);
  });
}
void bench_backward_apply(const KernelTable& k, Data& d, Timings& t) {
  for (const bool stream : {false, true}) {
    t.time(stream ? "backward_apply.stream" : "backward_apply", [&] {
      for (int64_t p = 0; p < d.C; ++p) {
        const int64_t o = p * d.M;
        k.backward_apply(d.dy.data() + o, d.x.data() + o, d.dx.data() + o, d.M, 0.f, 3.f, 1.f, 0.5f, 0.1f,
                         stream);
      }
    });
  }
}

// C planes of M in one call; the backward with the forward's saved rstd.
void bench_plane_batch_forward(const KernelTable& k, Data& d, Timings& t) {
  t.time("plane_batch_forward", [&] {
    k.plane_batch_forward(d.x.data(), d.y.data(), d.C, d.M, d.scale.data(), d.shift.data(), 0.0f, 1e-5f,
                          d.mean.data(), d.rstd.data(), d.exact.data());
  });
}
void bench_plane_batch_backward(const KernelTable& k, Data& d, Timings& t) {
  k.plane_batch_forward(d.x.data(), d.y.data(), d.C, d.M, nullptr, nullptr, 0.0f, 1e-5f, nullptr, d.rstd.data(),
                        d.exact.data());
  t.time("plane_batch_backward", [&] {
    k.plane_batch_backward(d.dy.data(), d.x.data(), d.dx.data(), d.C, d.M, d.scale.data(), d.rstd.data(), 0.0f,
                           1e-5f, d.share_g.data(), d.share_b.data(), d.exact.data());
  });
}

// ---- column: M rows of C channels ----
void bench_col_moments(const KernelTable& k, Data& d, Timings& t) {
  t.time("col_moments", [&] { k.col_moments(d.x.data(), d.M, d.C, d.mo.data()); });
}
void bench_col_moments_f64(const KernelTable& k, Data& d, Timings& t) {
  t.time("col_moments_f64", [&] { k.col_moments_f64(d.x.data(), d.M, d.C, d.mo.data()); });
}
void bench_col_co_moments(const KernelTable& k, Data& d, Timings& t) {
  t.time("col_co_moments", [&] { k.col_co_moments(d.dy.data(), d.x.data(), d.M, d.C, d.cm.data()); });
}
void bench_col_affine(const KernelTable& k, Data& d, Timings& t) {
  for (const bool stream : {false, true}) {
    t.time(stream ? "col_affine.stream" : "col_affine", [&] {
      k.col_affine(d.x.data(), d.y.data(), d.M, d.C, d.sub.data(), d.scale.data(), d.shift.data(), stream);
    });
  }
}
void bench_col_backward_apply(const KernelTable& k, Data& d, Timings& t) {
  for (const bool stream : {false, true}) {
    t.time(stream ? "col_backward_apply.stream" : "col_backward_apply", [&] {
      k.col_backward_apply(d.dy.data(), d.x.data(), d.dx.data(), d.M, d.C, d.shift.data(), d.sub.data(),
                           d.ca.data(), d.cb.data(), d.cc.data(), stream);
    });
  }
}

// ---- row: C rows of M ----
void bench_affine_elementwise(const KernelTable& k, Data& d, Timings& t) {
  for (const bool stream : {false, true}) {
    t.time(stream ? "affine_elementwise.stream" : "affine_elementwise", [&] {
      for (int64_t r = 0; r < d.C; ++r) {
        k.affine_elementwise(d.x.data() + r * d.M, d.y.data() + r * d.M, d.M, 3.f, 1.f, 0.f,
                             d.ones_m.data(), d.zeros_m.data(), stream);
      }
    });
  }
}
void bench_row_backward_reduce(const KernelTable& k, Data& d, Timings& t) {
  t.time("row_backward_reduce", [&] {
    for (int64_t r = 0; r < d.C; ++r) {
      k.row_backward_reduce(d.dy.data() + r * d.M, d.x.data() + r * d.M, d.ones_m.data(), d.M, 3.f, 1.f,
                            0.f, d.acc_a.data(), d.acc_b.data());
    }
  });
}
void bench_row_backward_apply(const KernelTable& k, Data& d, Timings& t) {
  for (const bool stream : {false, true}) {
    t.time(stream ? "row_backward_apply.stream" : "row_backward_apply", [&] {
      for (int64_t r = 0; r < d.C; ++r) {
        const int64_t o = r * d.M;
        k.row_backward_apply(d.dy.data() + o, d.x.data() + o, d.ones_m.data(), d.dx.data() + o, d.M, 3.f,
                             1.f, 0.f, 1.f, 0.1f, 0.5f, stream);
      }
    });
  }
}

// The registry: one bench_<name> per kernel of the manifest.
struct KernelBench {
  const char* family;
  void (*run)(const KernelTable&, Data&, Timings&);
};
constexpr KernelBench kBenches[] = {
#define INSTNORM_KERNEL(family, name, ret, params) {#family, &bench_##name},
#include "../../native/kernels/microkernels.def"
};

}  // namespace

int main(int argc, char** argv) {
  using namespace instnorm;
  const int64_t C = argc > 1 ? std::atoll(argv[1]) : 64, M = argc > 2 ? std::atoll(argv[2]) : 65536;
  const char* only = argc > 3 ? argv[3] : nullptr;  // optional: one ISA
  if (C < 1 || M < 1) {
    std::fprintf(stderr, "usage: microkernels_bench [C >= 1] [M >= 1] [isa]\n");
    return 2;
  }
  Data d(C, M);
  const double mc = best_ms([&] { std::memcpy(d.y.data(), d.x.data(), d.n * sizeof(float)); });
  std::printf("%lld x %lld floats (%.1f MiB): plane kernels C planes of M, column kernels M rows of C,\n"
              "row kernels C rows of M. Best of %d, one thread, ms (x memcpy of one array: %.3f ms)\n",
              static_cast<long long>(C), static_cast<long long>(M), d.n * 4 / 1048576.0, kReps, mc);

  const kernels::KernelTable* tables[kernels::kMaxTables];
  std::vector<const kernels::KernelTable*> isas;
  for (int t = 0, count = kernels::supported_tables(tables); t < count; ++t) {
    if (!only || std::strcmp(only, tables[t]->isa) == 0) isas.push_back(tables[t]);
  }
  if (isas.empty()) {
    std::fprintf(stderr, "no supported ISA named %s\n", only);
    return 2;
  }
  std::printf("%-8s %-26s", "family", "kernel");
  for (const kernels::KernelTable* k : isas) std::printf(" %18s", k->isa);
  std::printf("\n");
  for (const KernelBench& b : kBenches) {
    std::vector<Timings> per_isa(isas.size());
    for (size_t i = 0; i < isas.size(); ++i) b.run(*isas[i], d, per_isa[i]);
    for (size_t row = 0; row < per_isa[0].rows.size(); ++row) {
      std::printf("%-8s %-26s", b.family, per_isa[0].rows[row].first.c_str());
      for (const Timings& t : per_isa) {
        const double ms = t.rows[row].second;
        std::printf(" %9.3f (%5.2fx)", ms, ms / mc);
      }
      std::printf("\n");
    }
  }
  return 0;
}
