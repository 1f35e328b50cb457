// Which microkernel tables this CPU can run, best first, and lookup by name.
// Detection runs once; it checks both the CPU (cpuid) and that the OS saves
// the wider registers (xgetbv), so an ISA is never offered that would fault.
#pragma once
#include "microkernels.h"

namespace instnorm {
namespace kernels {

constexpr int kMaxTables = 4;

// Tables this build contains and this CPU supports, best first; returns the
// count (always >= 1: scalar is last).
int supported_tables(const KernelTable* out[kMaxTables]);

// The supported table with this name, or nullptr.
const KernelTable* find_table(const char* isa);

}  // namespace kernels
}  // namespace instnorm
