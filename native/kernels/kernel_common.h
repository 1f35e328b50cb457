// What every kernel family file shares: the vector type of the ISA this
// translation unit is compiled for, the statistics block size, and the
// elementwise store loop. Included only by the family files, which
// kernel_table.cc includes once per ISA.
//
// Everything here and in the family files has internal linkage (anonymous
// namespace): copies compiled with different ISA flags can never be merged
// by the linker, and no standard-library template is used for the same
// reason (see native/README.md, "One-definition rule").
#pragma once
#ifndef INSTNORM_TARGET_ISA
#error "the kernel family files are included by kernel_table.cc only"
#endif
#include <cstdint>

#include "chan_merge.h"
#include "microkernels.h"
#include "vec/target.h"

namespace instnorm {
namespace kernels {
namespace {

using V = vec::target::Vec;
constexpr int W = V::kWidth;
// The other Vec functions are found by argument-dependent lookup; calls
// with explicit template arguments (shl<3>(i)) need these in C++17.
using vec::target::sar;
using vec::target::shl;
using vec::target::shr;
// Floats per statistics block of the plane and row kernels (see plane_kernels.h).
constexpr int64_t kStatBlock = 1024;

inline int64_t min_i64(int64_t a, int64_t b) { return a < b ? a : b; }

// GCC's inliner works to a budget per translation unit (--param
// inline-unit-growth). The scalar Vec's lane loops make the store loops'
// lambdas look large, and the scalar unit runs past that budget: GCC then
// left some lambdas out of line (a call per vector, up to a third slower),
// and which ones depended on unrelated code elsewhere in the unit. A Vec
// that defines INSTNORM_VEC_FLATTEN_STORE_LOOPS has its store loops
// flattened (everything they call inlined); the SIMD Vecs need not.
#if defined(INSTNORM_VEC_FLATTEN_STORE_LOOPS) && defined(__GNUC__)
#define INSTNORM_STORE_LOOP __attribute__((flatten))
#else
#define INSTNORM_STORE_LOOP
#endif

// Elements before `out` reaches a vector boundary (0 when it is on one, or
// not float-aligned at all). A store loop that starts there stores whole
// aligned vectors: an unaligned 64-byte store always straddles two cache
// lines, and the arrays JavaScript hands us start 16 bytes into a line
// (glibc's malloc), so AVX-512 lost up to 20% on memory-bound loops to
// split stores and loads. Non-temporal stores need the alignment anyway.
inline int64_t align_head(const float* out, int64_t n) {
  constexpr uintptr_t kAlign = sizeof(float) * W;
  const uintptr_t mis = reinterpret_cast<uintptr_t>(out) % kAlign;
  if (mis == 0 || mis % sizeof(float) != 0) return 0;
  const int64_t head = static_cast<int64_t>((kAlign - mis) / sizeof(float));
  return head < n ? head : n;
}

// Runs out[i] = f(i) for i in [0, n) over vectors: f(i) returns the vector
// for elements [i, i + W), f_tail(i, r) for the last r < W. A head of
// partial stores first reaches the vector alignment of `out` (for runs of
// a few vectors and more, and always with `stream`, which needs it): the
// results are the same bits, only the stores are aligned.
template <class F, class FTail>
INSTNORM_STORE_LOOP inline void elementwise(float* out, int64_t n, bool stream, F f, FTail f_tail) {
  int64_t i = 0;
  const int64_t head = stream || n >= 4 * W ? align_head(out, n) : 0;
  if (head > 0) f_tail(0, static_cast<int>(head)).store_partial(out, static_cast<int>(head));
  i = head;
  const bool aligned = reinterpret_cast<uintptr_t>(out + i) % (sizeof(float) * W) == 0;
  if (stream && aligned) {
    for (; i + 2 * W <= n; i += 2 * W) {
      const V r0 = f(i), r1 = f(i + W);
      r0.stream(out + i);
      r1.stream(out + i + W);
    }
  }
  for (; i + 2 * W <= n; i += 2 * W) {
    const V r0 = f(i), r1 = f(i + W);
    r0.store(out + i);
    r1.store(out + i + W);
  }
  if (i + W <= n) {
    f(i).store(out + i);
    i += W;
  }
  if (i < n) f_tail(i, static_cast<int>(n - i)).store_partial(out + i, static_cast<int>(n - i));
  if (stream) V::fence();
}

}  // namespace
}  // namespace kernels
}  // namespace instnorm
