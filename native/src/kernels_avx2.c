/* The kernels built with AVX2 and FMA (CMakeLists.txt: -mavx2 -mfma); used only when the CPU has both (runtime.c).
 * Nothing on other processors. */
#if defined(__x86_64__) || defined(__i386__)
#define PRELU_AVX2 1
#define PRELU_KERNEL_TABLE prelu_kernels_avx2
#include "kernels/kernels.h"
#endif
