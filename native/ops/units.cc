#include "units.h"

#include "policy.h"
#include "scratch.h"
#include "stats.h"

namespace instnorm {
namespace ops {

using kernels::CoMoments;
using kernels::Moments;

namespace {

// Channels-last: each sample's S rows of C channels are cut into fixed
// blocks of whole rows (about 64Ki floats each, contiguous in memory); the
// column kernels vectorize across channels within a block.
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

void unit_moments(const Context& ctx, const Shape& sh, const float* x, Moments* out) {
  const int64_t C = sh.c, S = sh.s;
  if (!sh.channels_last) {
    const int64_t cpr = chunks_of(S);
    Scratch<Moments> part(sh.units() * cpr);
    run_tasks(ctx.threads, sh.numel(), sh.units() * cpr, [&](int64_t t) {
      const int64_t u = t / cpr, j = t % cpr;
      part[t] = ctx.k.moments(x + u * S + j * kChunk, chunk_len(S, j));
    });
    for (int64_t u = 0; u < sh.units(); ++u) {
      Moments acc{0.0, 0.0, 0.0};
      for (int64_t j = 0; j < cpr; ++j) acc = merge_moments(acc, part[u * cpr + j]);
      out[u] = acc;
    }
    return;
  }
  const RowBlocks rb = row_blocks(S, C, kStatRows);
  Scratch<Moments> part(sh.n * rb.blocks * C);
  run_tasks(ctx.threads, sh.numel(), sh.n * rb.blocks, [&](int64_t t) {
    const int64_t n = t / rb.blocks, j = t % rb.blocks;
    ctx.k.col_moments(x + (n * S + j * rb.rows) * C, rb.len(j, S), C, part.data() + t * C);
  });
  for (int64_t n = 0; n < sh.n; ++n) {
    for (int64_t c = 0; c < C; ++c) {
      Moments acc{0.0, 0.0, 0.0};
      for (int64_t j = 0; j < rb.blocks; ++j) acc = merge_moments(acc, part[(n * rb.blocks + j) * C + c]);
      out[n * C + c] = acc;
    }
  }
}

void unit_co_moments(const Context& ctx, const Shape& sh, const float* dy, const float* x, CoMoments* out) {
  const int64_t C = sh.c, S = sh.s;
  if (!sh.channels_last) {
    const int64_t cpr = chunks_of(S);
    Scratch<CoMoments> part(sh.units() * cpr);
    run_tasks(ctx.threads, sh.numel(), sh.units() * cpr, [&](int64_t t) {
      const int64_t u = t / cpr, j = t % cpr, off = u * S + j * kChunk;
      part[t] = ctx.k.co_moments(dy + off, x + off, chunk_len(S, j));
    });
    for (int64_t u = 0; u < sh.units(); ++u) {
      CoMoments acc{0.0, 0.0, 0.0, 0.0, 0.0};
      for (int64_t j = 0; j < cpr; ++j) acc = merge_co_moments(acc, part[u * cpr + j]);
      out[u] = acc;
    }
    return;
  }
  const RowBlocks rb = row_blocks(S, C, kStatRows);
  Scratch<CoMoments> part(sh.n * rb.blocks * C);
  run_tasks(ctx.threads, sh.numel(), sh.n * rb.blocks, [&](int64_t t) {
    const int64_t n = t / rb.blocks, j = t % rb.blocks, off = (n * S + j * rb.rows) * C;
    ctx.k.col_co_moments(dy + off, x + off, rb.len(j, S), C, part.data() + t * C);
  });
  for (int64_t n = 0; n < sh.n; ++n) {
    for (int64_t c = 0; c < C; ++c) {
      CoMoments acc{0.0, 0.0, 0.0, 0.0, 0.0};
      for (int64_t j = 0; j < rb.blocks; ++j) acc = merge_co_moments(acc, part[(n * rb.blocks + j) * C + c]);
      out[n * C + c] = acc;
    }
  }
}

void unit_affine(const Context& ctx, const Shape& sh, const float* x, float* y, AffineCoef co) {
  const int64_t C = sh.c, S = sh.s;
  if (!sh.channels_last) {
    const int64_t cpr = chunks_of(S);
    const bool stream = streaming(sh.numel(), S);
    run_tasks(ctx.threads, sh.numel(), sh.units() * cpr, [&](int64_t t) {
      const int64_t u = t / cpr, j = t % cpr, off = u * S + j * kChunk;
      ctx.k.affine(x + off, y + off, chunk_len(S, j), co.sub[u], co.scale[u], co.shift[u], stream);
    });
    return;
  }
  const RowBlocks rb = row_blocks(S, C);
  const bool stream = streaming(sh.numel(), rb.rows * C);
  run_tasks(ctx.threads, sh.numel(), sh.n * rb.blocks, [&](int64_t t) {
    const int64_t n = t / rb.blocks, j = t % rb.blocks, off = (n * S + j * rb.rows) * C;
    ctx.k.col_affine(x + off, y + off, rb.len(j, S), C, co.sub + n * C, co.scale + n * C, co.shift + n * C,
                     stream);
  });
}

void unit_backward_apply(const Context& ctx, const Shape& sh, const float* dy, const float* x, float* dx,
                         GradCoef co) {
  const int64_t C = sh.c, S = sh.s;
  if (!sh.channels_last) {
    const int64_t cpr = chunks_of(S);
    const bool stream = streaming(sh.numel(), S);
    run_tasks(ctx.threads, sh.numel(), sh.units() * cpr, [&](int64_t t) {
      const int64_t u = t / cpr, j = t % cpr, off = u * S + j * kChunk;
      ctx.k.backward_apply(dy + off, x + off, dx + off, chunk_len(S, j), co.dy_sub[u], co.x_sub[u], co.a[u],
                           co.b[u], co.c[u], stream);
    });
    return;
  }
  const RowBlocks rb = row_blocks(S, C);
  const bool stream = streaming(sh.numel(), rb.rows * C);
  run_tasks(ctx.threads, sh.numel(), sh.n * rb.blocks, [&](int64_t t) {
    const int64_t n = t / rb.blocks, j = t % rb.blocks, off = (n * S + j * rb.rows) * C;
    const int64_t k = n * C;
    ctx.k.col_backward_apply(dy + off, x + off, dx + off, rb.len(j, S), C, co.dy_sub + k, co.x_sub + k, co.a + k,
                             co.b + k, co.c + k, stream);
  });
}

}  // namespace ops
}  // namespace instnorm
