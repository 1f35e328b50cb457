// Channels-last [N, S, C]: each sample's S rows of C channels are cut into
// fixed blocks of whole rows (about 64Ki floats each, contiguous in
// memory); the column kernels vectorize across channels within a block.
// Per-(n, c) statistics are the in-order merge of the blocks' results, so
// they do not depend on the thread count.
#include <vector>

#include "planes.h"
#include "policy.h"
#include "stats.h"

namespace instnorm {
namespace ops {

using kernels::CoMoments;
using kernels::KernelTable;
using kernels::Moments;

namespace {

struct RowBlocks {
  int64_t rows;    // rows per block
  int64_t blocks;  // blocks per sample
  int64_t len(int64_t j, int64_t s) const { return s - j * rows < rows ? s - j * rows : rows; }
};

RowBlocks row_blocks(int64_t s, int64_t c, int64_t min_rows = 1) {
  int64_t rows = kChunk / c;
  if (rows < min_rows) rows = min_rows;
  return {rows, (s + rows - 1) / rows};
}

// Statistics blocks have at least one full kernel block of rows (256): with
// many channels, shorter blocks pay the per-column merge work more often
// than they save in cache.
constexpr int64_t kStatRows = 256;

}  // namespace

void channels_last_moments(const KernelTable& k, const PlaneStatsArgs& a, int64_t c) {
  const RowBlocks rb = row_blocks(a.len, c, kStatRows);
  thread_local std::vector<Moments> part_scratch;
  Moments* part = scratch(part_scratch, a.runs * rb.blocks * c);
  run_tasks(a.threads, a.runs * a.len * c, a.runs * rb.blocks, [&](int64_t t) {
    const int64_t n = t / rb.blocks, j = t % rb.blocks;
    k.col_moments(a.x + (n * a.len + j * rb.rows) * c, rb.len(j, a.len), c, part + t * c);
  });
  for (int64_t n = 0; n < a.runs; ++n) {
    for (int64_t ch = 0; ch < c; ++ch) {
      Moments acc{0.0, 0.0, 0.0};
      for (int64_t j = 0; j < rb.blocks; ++j) acc = merge_moments(acc, part[(n * rb.blocks + j) * c + ch]);
      a.mean_x[n * c + ch] = acc.mean;
      a.m2_x[n * c + ch] = acc.m2;
    }
  }
}

void channels_last_co_moments(const KernelTable& k, const PlaneStatsArgs& a, int64_t c) {
  const RowBlocks rb = row_blocks(a.len, c, kStatRows);
  thread_local std::vector<CoMoments> part_scratch;
  CoMoments* part = scratch(part_scratch, a.runs * rb.blocks * c);
  run_tasks(a.threads, a.runs * a.len * c, a.runs * rb.blocks, [&](int64_t t) {
    const int64_t n = t / rb.blocks, j = t % rb.blocks, off = (n * a.len + j * rb.rows) * c;
    k.col_co_moments(a.dy + off, a.x + off, rb.len(j, a.len), c, part + t * c);
  });
  for (int64_t n = 0; n < a.runs; ++n) {
    for (int64_t ch = 0; ch < c; ++ch) {
      CoMoments acc{0.0, 0.0, 0.0, 0.0, 0.0};
      for (int64_t j = 0; j < rb.blocks; ++j) acc = merge_co_moments(acc, part[(n * rb.blocks + j) * c + ch]);
      const int64_t i = n * c + ch;
      a.mean_x[i] = acc.mean_x;
      a.m2_x[i] = acc.m2_x;
      a.mean_dy[i] = acc.mean_dy;
      a.c_x_dy[i] = acc.c_x_dy;
    }
  }
}

void channels_last_affine(const KernelTable& k, const PlaneApplyArgs& a, int64_t c) {
  const RowBlocks rb = row_blocks(a.len, c);
  const bool stream = streaming(a.runs * a.len * c, rb.rows * c);
  run_tasks(a.threads, a.runs * a.len * c, a.runs * rb.blocks, [&](int64_t t) {
    const int64_t n = t / rb.blocks, j = t % rb.blocks, off = (n * a.len + j * rb.rows) * c;
    k.col_affine(a.x + off, a.out + off, rb.len(j, a.len), c, a.coef[0] + n * c, a.coef[1] + n * c,
                 a.coef[2] + n * c, stream);
  });
}

void channels_last_backward_apply(const KernelTable& k, const PlaneApplyArgs& a, int64_t c) {
  const RowBlocks rb = row_blocks(a.len, c);
  const bool stream = streaming(a.runs * a.len * c, rb.rows * c);
  run_tasks(a.threads, a.runs * a.len * c, a.runs * rb.blocks, [&](int64_t t) {
    const int64_t n = t / rb.blocks, j = t % rb.blocks, off = (n * a.len + j * rb.rows) * c;
    k.col_backward_apply(a.dy + off, a.x + off, a.out + off, rb.len(j, a.len), c, a.coef[0] + n * c,
                         a.coef[1] + n * c, a.coef[2] + n * c, a.coef[3] + n * c, a.coef[4] + n * c, stream);
  });
}

}  // namespace ops
}  // namespace instnorm
