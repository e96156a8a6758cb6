/* The kernels built with AVX-512F as well (CMakeLists.txt: -mavx2 -mfma -mavx512f): 32 vector registers of
 * 16 floats allow the 12 x 32 register block; used only when the CPU has AVX2, FMA and AVX-512F (runtime.c).
 * Nothing on other processors. */
#if defined(__x86_64__) || defined(__i386__)
#define PRELU_AVX2 1
#define PRELU_AVX512 1
#define PRELU_KERNEL_TABLE prelu_kernels_avx512
#include "kernels/kernels.h"
#endif
