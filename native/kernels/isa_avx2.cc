// The microkernels instantiated for avx2.
#include "vec/vec_avx2.h"

#define INSTNORM_VEC ::instnorm::vec::avx2::Vec
#define INSTNORM_ISA_NAME "avx2"
#define INSTNORM_TABLE_NAME avx2_table
#include "microkernels_impl.h"
