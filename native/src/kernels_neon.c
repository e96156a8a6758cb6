/* The kernels built for AArch64's Advanced SIMD (NEON, part of every AArch64 CPU): the 6 x 12 register-blocked GEMM
 * micro-kernel of gemm.h; the rest is the portable C, which GCC vectorises with NEON at -O3. Used when the CPU reports
 * ASIMD (runtime.c). Nothing on other processors. */
#if defined(__aarch64__)
#define PRELU_NEON 1
#define PRELU_KERNEL_TABLE prelu_kernels_neon
#include "kernels/kernels.h"
#endif
