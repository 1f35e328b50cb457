// The microkernels instantiated for avx512.
#include "vec/vec_avx512.h"

#define INSTNORM_VEC ::instnorm::vec::avx512::Vec
#define INSTNORM_ISA_NAME "avx512"
#define INSTNORM_TABLE_NAME avx512_table
#include "microkernels_impl.h"
