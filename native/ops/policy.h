// Shared decisions of the ops layer: when to use threads, when to stream
// outputs past the cache, how to cut work into fixed chunks.
#pragma once
#include <cmath>
#include <cstdint>

#include "../runtime/thread_pool.h"
#include "stats.h"

namespace instnorm {
namespace ops {

// Below this many elements a call stays on the calling thread: waking the
// pool costs ~15 us on the development VM, and 2 threads only beat 1 from
// about 256Ki elements (1 MiB) on (measured: 1x4xM forward, 1 vs 2 threads,
// 16Ki: 4.8 vs 17 us; 64Ki: 15 vs 18 us; 128Ki: 32 vs 34 us; 256Ki: 55 vs 40 us).
constexpr int64_t kParallelMin = int64_t{1} << 18;

inline bool serial(int64_t numel, int threads) {
  return threads <= 1 || numel < kParallelMin;
}

// Outputs this large are written with non-temporal stores: input and output
// together no longer fit the last-level cache, and streaming skips the
// read-for-ownership of every output line; below it, plain stores win (the
// data stays cache-resident). The size is half the last-level cache, within
// [16 MiB, 64 MiB] (policy.cc): measured with the kernel bench, streaming
// is 25-30% faster from 16 MiB on a 32 MiB-L3 AMD EPYC, and on a Xeon VM
// reporting a 480 MiB L3 it is 15-30% slower at 16-32 MiB, even at 64 MiB
// and 30% faster at 128 MiB. Small runs never stream: each kernel call ends
// with a store fence, and partial cache lines at run edges defeat write
// combining.
int64_t stream_min_bytes();
constexpr int64_t kStreamMinRun = int64_t{1} << 14;
inline bool streaming(int64_t numel, int64_t run) {
  return numel * 4 >= stream_min_bytes() && run >= kStreamMinRun;
}
// The apply pass of a two-pass op (statistics over a whole sample or batch
// first, then the outputs: channels-last norms, batch norm) re-reads its
// input, and plain stores of the output evict input lines before they are
// re-read. These stream from the lower bound (16 MiB), whatever the cache
// size. Measured at op level (this Xeon VM, 480 MiB L3 reported, channels-
// last instance norm, 1 thread): a 32 MiB sample 5.3 ms streaming against
// 6.2 ms with plain stores, 16 MiB within 2%.
constexpr int64_t kStreamMinBytesAfterStats = int64_t{16} << 20;
inline bool streaming_after_stats(int64_t numel, int64_t run) {
  return numel * 4 >= kStreamMinBytesAfterStats && run >= kStreamMinRun;
}

// f(t) for t in [0, tasks): on the calling thread for small work, else on
// the pool. Either way every task does the same arithmetic, so results do
// not depend on the choice.
template <class F>
void run_tasks(int threads, int64_t numel, int64_t tasks, F&& f) {
  if (serial(numel, threads)) {
    for (int64_t t = 0; t < tasks; ++t) f(t);
  } else {
    runtime::parallel_for(threads, tasks, f);
  }
}

// Instance norm's planes up to this many floats go to the plane-batch
// kernels (many planes per call, per-plane scalars as vectors, fp32
// statistics), longer ones to the per-plane kernels (double statistics,
// fused runs). Measured on AVX2 and AVX-512 (time / memcpy, forward and
// backward, plane-batch vs per-plane): 64 floats 1.46/2.75 vs 2.23/4.70,
// 144: 2.42/4.35 vs 4.09/7.61, 256: 1.46/2.46 vs 1.39/2.40, 1024:
// 1.30/2.17 vs 1.20/2.20. Scalar code has no wide per-plane kernels to
// lose against: the batch wins at every length (1024: 1.87/3.48 vs
// 3.86/10.91), up to 1024 floats, where per-plane batching ends too.
inline int64_t plane_batch_max_len(int vector_width) { return vector_width == 1 ? 1024 : 160; }

// Channels-last statistics span a whole sample, so its output cannot be
// written until the sample has been read once. Samples up to this size are
// processed whole by one thread (statistics, fold, apply), so the second
// read comes from that core's L2; larger samples are split across threads
// in phases and re-read from L3 or memory.
constexpr int64_t kSlabBytes = int64_t{1} << 20;

inline int64_t chunks_of(int64_t m) { return (m + kChunk - 1) / kChunk; }
inline int64_t chunk_len(int64_t m, int64_t j) {
  return m - j * kChunk < kChunk ? m - j * kChunk : kChunk;
}

}  // namespace ops
}  // namespace instnorm
