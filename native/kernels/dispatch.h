// Which microkernel tables this CPU can run, best first, lookup by name, and
// the INSTNORM_ISA cap. Detection runs once; it checks both the CPU (cpuid)
// and that the OS saves the wider registers (xgetbv), so an ISA is never
// offered that would fault. The ISAs, their order and the CPU features each
// needs come from isas.def.
#pragma once
#include <string>

#include "microkernels.h"

namespace instnorm {
namespace kernels {

// The number of ISAs in isas.def: enough room for every table of any build.
constexpr int kMaxTables = 0
#define INSTNORM_ISA(name, arch, features, gcc_flags, msvc_flags) +1
#include "isas.def"
    ;

// Tables this build contains and this CPU supports, best first; returns the
// count (always >= 1: scalar is last).
int supported_tables(const KernelTable* out[kMaxTables]);

// The supported table with this name, or nullptr.
const KernelTable* find_table(const char* isa);

// The table for INSTNORM_ISA=`cap`: with no cap (null or empty) the best
// supported one; otherwise the best supported ISA at or below the cap in
// isas.def's order (a cap above what the CPU has gives the best it has).
// A cap that is not an ISA name, or names an ISA of another architecture,
// returns nullptr and sets *error to
//   INSTNORM_ISA=<cap> is not an ISA name (expected one of scalar, avx2, avx512, neon)
//   INSTNORM_ISA=<cap> does not exist on this CPU architecture (x64: scalar, avx2, avx512)
// (no "instnorm: " prefix: the caller adds its own context).
const KernelTable* select_table(const char* cap, std::string* error);

// Node's name (process.arch) of the architecture this build targets:
// "x64", "arm64", ...; "unknown" for one it does not know.
constexpr const char* kTargetArch =
#if defined(__x86_64__) || defined(_M_X64)
    "x64";
#elif defined(__aarch64__) || defined(_M_ARM64)
    "arm64";
#elif defined(__i386__) || defined(_M_IX86)
    "ia32";
#elif defined(__arm__) || defined(_M_ARM)
    "arm";
#elif defined(__powerpc64__)
    "ppc64";
#elif defined(__s390x__)
    "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
    "riscv64";
#elif defined(__loongarch64)
    "loong64";
#else
    "unknown";
#endif

constexpr bool same_name(const char* a, const char* b) {
  while (*a && *a == *b) ++a, ++b;
  return *a == *b;
}

// Whether this build contains the ISAs of isas.def's architecture `arch`:
// every build compiles every ISA of its architecture (and those of `any`).
constexpr bool built_for(const char* arch) {
  return same_name(arch, "any") || same_name(arch, kTargetArch);
}

}  // namespace kernels
}  // namespace instnorm
