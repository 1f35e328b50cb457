// Compiled with baseline flags only: it must run on any CPU to decide what
// else may run.
#include "dispatch.h"

#include <cstdint>
#include <cstring>

#if (defined(__x86_64__) || defined(_M_X64)) && !defined(_MSC_VER)
#include <cpuid.h>
#define INSTNORM_X86_GNU 1
#elif defined(_M_X64)
#include <immintrin.h>
#include <intrin.h>
#define INSTNORM_X86_MSVC 1
#endif

namespace instnorm {
namespace kernels {
namespace {

struct CpuFeatures {
  bool avx2_fma = false;
  bool avx512 = false;  // F + BW + VL, with ZMM/opmask state enabled by the OS
};

#if defined(INSTNORM_X86_GNU) || defined(INSTNORM_X86_MSVC)
void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4]) {
#if defined(INSTNORM_X86_GNU)
  __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
#else
  int regs[4];
  __cpuidex(regs, static_cast<int>(leaf), static_cast<int>(sub));
  for (int i = 0; i < 4; ++i) r[i] = static_cast<uint32_t>(regs[i]);
#endif
}

uint64_t xgetbv0() {
#if defined(INSTNORM_X86_GNU)
  uint32_t eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
#else
  return _xgetbv(0);
#endif
}

CpuFeatures detect() {
  CpuFeatures f;
  uint32_t r[4];
  cpuid(0, 0, r);
  const uint32_t max_leaf = r[0];
  if (max_leaf < 7) return f;
  cpuid(1, 0, r);
  const bool osxsave = (r[2] >> 27) & 1;
  const bool avx = (r[2] >> 28) & 1;
  const bool fma = (r[2] >> 12) & 1;
  if (!osxsave || !avx) return f;
  const uint64_t xcr0 = xgetbv0();
  const bool ymm_state = (xcr0 & 0x6) == 0x6;            // SSE + AVX
  const bool zmm_state = (xcr0 & 0xE6) == 0xE6;          // + opmask, ZMM
  cpuid(7, 0, r);
  const bool avx2 = (r[1] >> 5) & 1;
  const bool avx512f = (r[1] >> 16) & 1;
  const bool avx512bw = (r[1] >> 30) & 1;
  const bool avx512vl = (r[1] >> 31) & 1;
  f.avx2_fma = ymm_state && avx2 && fma;
  f.avx512 = f.avx2_fma && zmm_state && avx512f && avx512bw && avx512vl;
  return f;
}
#else
CpuFeatures detect() { return CpuFeatures{}; }
#endif

struct Registry {
  const KernelTable* tables[kMaxTables];
  int count = 0;
  Registry() {
    const CpuFeatures f = detect();
    (void)f;
#if defined(INSTNORM_HAVE_AVX512)
    if (f.avx512) tables[count++] = &avx512_table();
#endif
#if defined(INSTNORM_HAVE_AVX2)
    if (f.avx2_fma) tables[count++] = &avx2_table();
#endif
#if defined(INSTNORM_HAVE_NEON)
    tables[count++] = &neon_table();  // Advanced SIMD is baseline on arm64
#endif
    tables[count++] = &scalar_table();
  }
};

const Registry& registry() {
  static const Registry r;  // thread-safe one-time detection
  return r;
}

}  // namespace

int supported_tables(const KernelTable* out[kMaxTables]) {
  const Registry& r = registry();
  for (int i = 0; i < r.count; ++i) out[i] = r.tables[i];
  return r.count;
}

const KernelTable* find_table(const char* isa) {
  const Registry& r = registry();
  for (int i = 0; i < r.count; ++i) {
    if (std::strcmp(r.tables[i]->isa, isa) == 0) return r.tables[i];
  }
  return nullptr;
}

}  // namespace kernels
}  // namespace instnorm
