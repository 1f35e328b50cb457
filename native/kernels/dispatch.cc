// Compiled with baseline flags only: it must run on any CPU to decide what
// else may run. Selection loops over isas.def; the CPU features its lines
// name are checked against detect() below.
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

// ---- CPU features (the names isas.def may use) ----

enum Feature : uint32_t {
  kAvx2 = 1u << 0,      // with the OS saving YMM state
  kFma = 1u << 1,       // likewise
  kAvx512F = 1u << 2,   // with the OS saving ZMM and opmask state
  kAvx512BW = 1u << 3,  // likewise
  kAvx512VL = 1u << 4,  // likewise
};

struct FeatureName {
  const char* name;
  uint32_t bit;
};
constexpr FeatureName kFeatureNames[] = {
    {"avx2", kAvx2}, {"fma", kFma}, {"avx512f", kAvx512F}, {"avx512bw", kAvx512BW}, {"avx512vl", kAvx512VL},
};

// Not constexpr on purpose: isas.def's features are parsed at compile time,
// where reaching this call is a compile error that names the problem.
inline uint32_t unknown_cpu_feature_in_isas_def() { return 0; }

constexpr uint32_t feature_bit(const char* s, int len) {
  for (const FeatureName& f : kFeatureNames) {
    int i = 0;
    while (i < len && f.name[i] == s[i]) ++i;
    if (i == len && f.name[i] == '\0') return f.bit;
  }
  return unknown_cpu_feature_in_isas_def();
}

// "avx2 fma" -> kAvx2 | kFma.
constexpr uint32_t feature_mask(const char* s) {
  uint32_t mask = 0;
  while (*s) {
    while (*s == ' ') ++s;
    int len = 0;
    while (s[len] && s[len] != ' ') ++len;
    if (len > 0) mask |= feature_bit(s, len);
    s += len;
  }
  return mask;
}

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

uint32_t detect() {
  uint32_t r[4];
  cpuid(0, 0, r);
  const uint32_t max_leaf = r[0];
  if (max_leaf < 7) return 0;
  cpuid(1, 0, r);
  const bool osxsave = (r[2] >> 27) & 1;
  const bool avx = (r[2] >> 28) & 1;
  const bool fma = (r[2] >> 12) & 1;
  if (!osxsave || !avx) return 0;
  const uint64_t xcr0 = xgetbv0();
  const bool ymm_state = (xcr0 & 0x6) == 0x6;    // SSE + AVX
  const bool zmm_state = (xcr0 & 0xE6) == 0xE6;  // + opmask, ZMM
  cpuid(7, 0, r);
  uint32_t f = 0;
  if (ymm_state && ((r[1] >> 5) & 1)) f |= kAvx2;
  if (ymm_state && fma) f |= kFma;
  if (zmm_state && ((r[1] >> 16) & 1)) f |= kAvx512F;
  if (zmm_state && ((r[1] >> 30) & 1)) f |= kAvx512BW;
  if (zmm_state && ((r[1] >> 31) & 1)) f |= kAvx512VL;
  return f;
}
#else
// Other architectures: their ISAs here need no optional feature (Advanced
// SIMD is baseline on arm64).
uint32_t detect() { return 0; }
#endif

// ---- the ISA list ----

// <name>_table() where this build defines it, else nullptr. The discarded
// branch does not reference the table, so other architectures' ISAs need
// no definition.
#define INSTNORM_ISA(name, arch, features, gcc_flags, msvc_flags)  \
  const KernelTable* name##_if_built() {                          \
    if constexpr (built_for(#arch)) {                             \
      return &name##_table();                                     \
    } else {                                                      \
      return nullptr;                                             \
    }                                                             \
  }
#include "isas.def"

struct Isa {
  const char* name;
  const char* arch;
  uint32_t needs;  // Feature bits
  const KernelTable* (*table)();
};

constexpr Isa kIsas[] = {
#define INSTNORM_ISA(name, arch, features, gcc_flags, msvc_flags) \
  {#name, #arch, feature_mask(features), &name##_if_built},
#include "isas.def"
};
constexpr int kIsaCount = static_cast<int>(sizeof kIsas / sizeof kIsas[0]);
static_assert(kIsaCount == kMaxTables, "kMaxTables counts isas.def");

// Kernels an ISA's table takes from another ISA's, because that code is
// faster on the CPUs measured. The plane-batch kernels at 512 bits were
// 4-11% slower than at 256 bits on 64-float planes (Xeon Sapphire Rapids
// VM, C++ op driver, 32x256x8x8, forward and backward, three runs; per
// plane they are short chains of shuffles and scalar-per-plane work that
// wider vectors do not shorten), and AMD Zen 4 executes 512-bit operations
// as two 256-bit halves. Borrowed kernels satisfy the same contract (the
// manifest's), so results stay within the same bounds.
struct Borrowed {
  const char* isa;
  const char* from;
  void (*take)(KernelTable& to, const KernelTable& from);
};
constexpr Borrowed kBorrowed[] = {
    {"avx512", "avx2",
     [](KernelTable& to, const KernelTable& from) {
       to.plane_batch_forward = from.plane_batch_forward;
       to.plane_batch_backward = from.plane_batch_backward;
     }},
};

struct Registry {
  const KernelTable* tables[kMaxTables];
  int index[kMaxTables];  // position in kIsas of each table
  int count = 0;
  KernelTable composed[kMaxTables];  // tables with borrowed kernels
  Registry() {
    const uint32_t cpu = detect();
    for (int i = kIsaCount - 1; i >= 0; --i) {  // best (last) first
      const KernelTable* t = kIsas[i].table();
      if (t != nullptr && (kIsas[i].needs & cpu) == kIsas[i].needs) {
        tables[count] = t;
        index[count++] = i;
      }
    }
    for (const Borrowed& b : kBorrowed) {
      const int to = position(b.isa), from = position(b.from);
      if (to < 0 || from < 0) continue;  // not on this CPU or build
      composed[to] = *tables[to];
      b.take(composed[to], *tables[from]);
      tables[to] = &composed[to];
    }
  }
  int position(const char* isa) const {
    for (int i = 0; i < count; ++i) {
      if (std::strcmp(tables[i]->isa, isa) == 0) return i;
    }
    return -1;
  }
};

const Registry& registry() {
  static const Registry r;  // thread-safe one-time detection
  return r;
}

// "a, b, c": the names of the ISAs for which keep(isa) holds, in list order.
template <class Keep>
std::string names(Keep keep) {
  std::string s;
  for (const Isa& isa : kIsas) {
    if (!keep(isa)) continue;
    if (!s.empty()) s += ", ";
    s += isa.name;
  }
  return s;
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

const KernelTable* select_table(const char* cap, std::string* error) {
  const Registry& r = registry();
  if (cap == nullptr || *cap == '\0') return r.tables[0];
  int rank = -1;
  for (int i = 0; i < kIsaCount; ++i) {
    if (std::strcmp(kIsas[i].name, cap) == 0) rank = i;
  }
  if (rank < 0) {
    if (error) {
      *error = std::string("INSTNORM_ISA=") + cap + " is not an ISA name (expected one of " +
               names([](const Isa&) { return true; }) + ")";
    }
    return nullptr;
  }
  if (!built_for(kIsas[rank].arch)) {
    if (error) {
      *error = std::string("INSTNORM_ISA=") + cap + " does not exist on this CPU architecture (" +
               kTargetArch + ": " + names([](const Isa& isa) { return built_for(isa.arch); }) + ")";
    }
    return nullptr;
  }
  for (int i = 0; i < r.count; ++i) {  // best first: the first at or below the cap
    if (r.index[i] <= rank) return r.tables[i];
  }
  return r.tables[r.count - 1];  // unreachable: scalar (first in the list) is always supported
}

}  // namespace kernels
}  // namespace instnorm
