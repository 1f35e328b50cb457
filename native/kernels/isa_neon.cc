// The microkernels instantiated for neon.
#include "vec/vec_neon.h"

#define INSTNORM_VEC ::instnorm::vec::neon::Vec
#define INSTNORM_ISA_NAME "neon"
#define INSTNORM_TABLE_NAME neon_table
#include "microkernels_impl.h"
