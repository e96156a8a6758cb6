/* The kernels in plain C for any x86-64: the fallback on CPUs without AVX2/FMA. */
#define K(name) name##_portable_impl
#define PRELU_KERNEL_TABLE prelu_kernels_portable
#include "kernels_body.h"
