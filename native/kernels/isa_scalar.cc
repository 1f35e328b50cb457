// The microkernels instantiated for scalar (baseline flags only: this file runs on every CPU).
#include "vec/vec_scalar.h"

#define INSTNORM_VEC ::instnorm::vec::scalar::Vec
#define INSTNORM_ISA_NAME "scalar"
#define INSTNORM_TABLE_NAME scalar_table
#include "microkernels_impl.h"
