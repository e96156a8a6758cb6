/* runtime.c: what the library says about itself and the machine: ABI version, CPU features,
 * kernel selection and thread count. */
#include "prelu.h"

#include <omp.h>

static int32_t forced_portable = 0;

int32_t prelu_abi_version(void) { return PRELU_ABI_VERSION; }

const char *prelu_version(void) { return PRELU_VERSION_STRING; }

int32_t prelu_cpu_features(void) {
    int32_t features = 0;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) features |= PRELU_CPU_AVX2;
    if (__builtin_cpu_supports("fma")) features |= PRELU_CPU_FMA;
#endif
    return features;
}

int32_t prelu_uses_avx2(void) {
    const int32_t needed = PRELU_CPU_AVX2 | PRELU_CPU_FMA;
    return !forced_portable && (prelu_cpu_features() & needed) == needed;
}

void prelu_force_portable(int32_t force) { forced_portable = force != 0; }

void prelu_set_threads(int32_t threads) {
    omp_set_num_threads(threads > 0 ? threads : omp_get_num_procs());
}

int32_t prelu_get_threads(void) { return omp_get_max_threads(); }
