// The Vec API (see vec_scalar.h) of the ISA this translation unit is
// compiled for: INSTNORM_TARGET_ISA=<name> (set by the builds for
// kernel_table.cc and the Vec tests) selects vec_<name>.h, whose types are
// then also reachable as vec::target::Vec, Mask, IntVec.
#pragma once
#ifndef INSTNORM_TARGET_ISA
#error "INSTNORM_TARGET_ISA=<isa> must be defined (the builds set it from isas.def)"
#endif

#define INSTNORM_STRINGIFY_(x) #x
#define INSTNORM_STRINGIFY(x) INSTNORM_STRINGIFY_(x)
#define INSTNORM_VEC_HEADER_(isa) INSTNORM_STRINGIFY(vec_##isa.h)
#define INSTNORM_VEC_HEADER(isa) INSTNORM_VEC_HEADER_(isa)
#include INSTNORM_VEC_HEADER(INSTNORM_TARGET_ISA)

#define INSTNORM_PASTE_(a, b) a##b
#define INSTNORM_PASTE(a, b) INSTNORM_PASTE_(a, b)

namespace instnorm {
namespace vec {
namespace target = ::instnorm::vec::INSTNORM_TARGET_ISA;
}  // namespace vec
}  // namespace instnorm
