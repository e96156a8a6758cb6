/* The kernels built with AVX2 and FMA (CMakeLists.txt: -mavx2 -mfma); used only when the CPU has both (runtime.c). */
#define PRELU_AVX2 1
#define PRELU_KERNEL_TABLE prelu_kernels_avx2
#include "kernels/kernels.h"
