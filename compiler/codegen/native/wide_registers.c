/* The natively compiled kernels (tc_kernels_native, for unit tests) are
 * built for the baseline x86-64 CPU, so they run the micro-kernels sized
 * for sixteen vector registers. The JIT and AOT paths define this constant
 * per target instead (tc_cg_optimize). */
#include "gemm_split.h"

const int32_t tc_k_wide_registers = 0;
