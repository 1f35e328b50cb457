#include "planes.h"

#include <vector>

#include "policy.h"
#include "stats.h"

namespace instnorm {
namespace ops {

using kernels::CoMoments;
using kernels::KernelTable;
using kernels::Moments;

// Every run is cut into fixed 64Ki chunks, merged in order: the same
// result as plane_moments() whether the tasks ran on one thread or many.
void plane_moments(const KernelTable& k, const PlaneStatsArgs& a) {
  const int64_t cpr = chunks_of(a.len);
  thread_local std::vector<Moments> part_scratch;
  Moments* part = scratch(part_scratch, a.runs * cpr);
  run_tasks(a.threads, a.runs * a.len, a.runs * cpr, [&](int64_t t) {
    const int64_t p = t / cpr, j = t % cpr;
    part[t] = k.moments(a.x + p * a.len + j * kChunk, chunk_len(a.len, j));
  });
  for (int64_t p = 0; p < a.runs; ++p) {
    Moments acc{0.0, 0.0, 0.0};
    for (int64_t j = 0; j < cpr; ++j) acc = merge_moments(acc, part[p * cpr + j]);
    a.mean_x[p] = acc.mean;
    a.m2_x[p] = acc.m2;
  }
}

void plane_co_moments(const KernelTable& k, const PlaneStatsArgs& a) {
  const int64_t cpr = chunks_of(a.len);
  thread_local std::vector<CoMoments> part_scratch;
  CoMoments* part = scratch(part_scratch, a.runs * cpr);
  run_tasks(a.threads, a.runs * a.len, a.runs * cpr, [&](int64_t t) {
    const int64_t p = t / cpr, j = t % cpr, off = p * a.len + j * kChunk;
    part[t] = k.co_moments(a.dy + off, a.x + off, chunk_len(a.len, j));
  });
  for (int64_t p = 0; p < a.runs; ++p) {
    CoMoments acc{0.0, 0.0, 0.0, 0.0, 0.0};
    for (int64_t j = 0; j < cpr; ++j) acc = merge_co_moments(acc, part[p * cpr + j]);
    a.mean_x[p] = acc.mean_x;
    a.m2_x[p] = acc.m2_x;
    a.mean_dy[p] = acc.mean_dy;
    a.c_x_dy[p] = acc.c_x_dy;
  }
}

void plane_affine(const KernelTable& k, const PlaneApplyArgs& a) {
  const int64_t cpr = chunks_of(a.len);
  const bool stream = streaming(a.runs * a.len, a.len);
  run_tasks(a.threads, a.runs * a.len, a.runs * cpr, [&](int64_t t) {
    const int64_t p = t / cpr, j = t % cpr, off = p * a.len + j * kChunk;
    k.affine(a.x + off, a.out + off, chunk_len(a.len, j), a.coef[0][p], a.coef[1][p], a.coef[2][p], stream);
  });
}

void plane_backward_apply(const KernelTable& k, const PlaneApplyArgs& a) {
  const int64_t cpr = chunks_of(a.len);
  const bool stream = streaming(a.runs * a.len, a.len);
  run_tasks(a.threads, a.runs * a.len, a.runs * cpr, [&](int64_t t) {
    const int64_t p = t / cpr, j = t % cpr, off = p * a.len + j * kChunk;
    k.backward_apply(a.dy + off, a.x + off, a.out + off, chunk_len(a.len, j), a.coef[0][p], a.coef[1][p],
                     a.coef[2][p], a.coef[3][p], a.coef[4][p], stream);
  });
}

}  // namespace ops
}  // namespace instnorm
