/* common.h: what every kernel header uses. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "../internal.h"

#ifdef PRELU_AVX2
#include <immintrin.h>
#endif

static inline int min_int(int a, int b) { return a < b ? a : b; }
