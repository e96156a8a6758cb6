/* The kernels in plain C for any CPU: the fallback where AVX2/FMA are missing. */
#define PRELU_KERNEL_TABLE prelu_kernels_portable
#include "kernels/kernels.h"
