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

/* ---- Scratch memory ------------------------------------------------------------------------------- */

#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct scratch_buffer {
    float *data;
    size_t floats;
} scratch_buffer;

static scratch_buffer scratch[PRELU_MAX_THREADS][PRELU_SCRATCH_SLOTS];

/* Each thread touches only its own row, so growing needs no lock. Contents are kept when the
 * buffer does not grow (the kernels rely on that to read back per-thread sums). */
float *prelu_scratch(int thread, int slot, size_t floats) {
    scratch_buffer *b = &scratch[thread % PRELU_MAX_THREADS][slot];
    if (b->floats < floats) {
        size_t bytes = (floats * sizeof(float) + 63) / 64 * 64;
        float *grown = aligned_alloc(64, bytes);
        if (!grown) abort(); /* out of memory: nothing sensible to return to a kernel */
        if (b->data) {
            memcpy(grown, b->data, b->floats * sizeof(float));
            free(b->data);
        }
        b->data = grown;
        b->floats = floats;
    }
    return b->data;
}

const prelu_kernels *prelu_active_kernels(void) {
#ifdef PRELU_HAVE_AVX2_KERNELS
    if (prelu_uses_avx2()) return &prelu_kernels_avx2;
#endif
    return &prelu_kernels_portable;
}
