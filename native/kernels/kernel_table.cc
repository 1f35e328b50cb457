// One ISA's kernel table. Compiled once per ISA of isas.def, with
// INSTNORM_TARGET_ISA=<name> and that ISA's flags (the builds take both from
// native/build-config.js), into <name>_table(): the family files are
// written once over the vector type V, and this is where they become
// that ISA's machine code.
#include "plane_kernels.h"
#include "plane_batch.h"
#include "column_stats.h"
#include "column_apply.h"
#include "row_kernels.h"
#include "exact_stats.h"

namespace instnorm {
namespace kernels {
namespace {

// One assignment per manifest line, by name: a kernel missing from its
// family file, or whose signature differs from the manifest's, does not
// compile.
constexpr KernelTable make_table() {
  KernelTable t{};
  t.isa = INSTNORM_STRINGIFY(INSTNORM_TARGET_ISA);
  t.vector_width = W;
#define INSTNORM_KERNEL(family, name, ret, params) t.name = &name;
#include "microkernels.def"
  return t;
}

constexpr KernelTable kTable = make_table();

}  // namespace

const KernelTable& INSTNORM_PASTE(INSTNORM_TARGET_ISA, _table)() { return kTable; }

}  // namespace kernels
}  // namespace instnorm
