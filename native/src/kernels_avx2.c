/* The kernels built with AVX2 and FMA; used only when the CPU has both (see runtime.c). */
#define PRELU_AVX2 1
#define K(name) name##_avx2_impl
#define PRELU_KERNEL_TABLE prelu_kernels_avx2
#include "kernels_body.h"
