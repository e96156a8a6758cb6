/* internal.h: what the library's own files share; not part of the ABI. */
#ifndef PRELU_INTERNAL_H
#define PRELU_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "prelu.h"

/* Per-thread scratch memory that only grows: kernels ask for it on every call and allocate nothing
 * once the first step has sized it. slot picks one of a few independent buffers per thread. */
enum { PRELU_SCRATCH_SLOTS = 6, PRELU_MAX_THREADS = 256 };
float *prelu_scratch(int thread, int slot, size_t floats);

/* The kernel set for one instruction set; runtime.c picks one at run time. */
typedef struct prelu_kernels {
    void (*conv2d_forward)(const prelu_conv2d_shape *, const prelu_activation *, const float *, const float *,
                           const float *, const float *, float *, float *);
    void (*conv2d_backward)(const prelu_conv2d_shape *, const prelu_activation *, const float *, const float *,
                            const float *, const float *, float *, float *, float *, float *, float *);
    void (*dense_forward)(int32_t, int32_t, int32_t, const prelu_activation *, const float *, const float *,
                          const float *, const float *, float *, float *);
    void (*dense_backward)(int32_t, int32_t, int32_t, const prelu_activation *, const float *, const float *,
                           const float *, const float *, float *, float *, float *, float *, float *);
    void (*maxpool2d_forward)(const prelu_conv2d_shape *, const float *, float *);
    void (*maxpool2d_backward)(const prelu_conv2d_shape *, const float *, const float *, float *);
    void (*activation_forward)(int32_t, const prelu_activation *, const float *, const float *, float *);
    void (*activation_backward)(int32_t, const prelu_activation *, const float *, const float *, float *, float *, float *);
    void (*dropout_forward)(int64_t, float, uint64_t, uint64_t, const float *, float *, float *);
    void (*adam)(int64_t, float, float, float, float, float *, const float *, float *, float *);
} prelu_kernels;

extern const prelu_kernels prelu_kernels_portable;
#if defined(__x86_64__) || defined(__i386__)
extern const prelu_kernels prelu_kernels_avx2;
#define PRELU_HAVE_AVX2_KERNELS 1
#endif

const prelu_kernels *prelu_active_kernels(void);

#endif
