// The list INSTNORM_OP fills during static initialisation (before the
// binding reads it at module load).
#include "op.h"

namespace instnorm {
namespace ops {
namespace {

constexpr int kMaxOps = 64;

struct Registry {
  OpEntry ops[kMaxOps];
  int count = 0;
};

Registry& registry() {
  static Registry r;  // constructed on first use: safe from any static initialiser
  return r;
}

}  // namespace

bool add_op(const OpEntry& e) {
  Registry& r = registry();
  if (r.count >= kMaxOps) return false;  // the binding's op list test would notice
  r.ops[r.count++] = e;
  return true;
}

const OpEntry* registered_ops(int* count) {
  *count = registry().count;
  return registry().ops;
}

}  // namespace ops
}  // namespace instnorm
