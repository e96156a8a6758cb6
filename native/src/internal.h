/* internal.h: what the library's own files share; not part of the ABI. */
#ifndef PRELU_INTERNAL_H
#define PRELU_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "prelu.h"

/* Scratch memory of the calling thread that only grows: kernels ask for it on every call and allocate
 * nothing once the first step has sized it. It is thread-local, so that two callers running kernels at
 * once (two models, two test classes) never share it; per-thread partial sums that must be added up
 * after a parallel region live in one block that the calling thread owns. */
enum {
    PRELU_SCRATCH_COLUMNS = 0,   /* a convolution's im2col rows, or its gathered views' tables; pooling's winners;
                                  * batch normalisation's statistics */
    PRELU_SCRATCH_DCOLUMNS = 1,  /* a convolution's window gradients (dcol); a fused convolution's tile of z and y */
    PRELU_SCRATCH_PARTIALS = 2,  /* per-thread sums, owned by the caller */
    PRELU_SCRATCH_SHARED_B = 3,  /* a GEMM's B packed once for every thread (gemm.h) */
    PRELU_SCRATCH_PACKED_B = 4,  /* a GEMM's B packed by one thread for its own product */
    PRELU_SCRATCH_POOLING = 5,   /* max pooling's window winners (value and place per channel); a fused
                                  * convolution's winners by filter */
    PRELU_SCRATCH_PACKED_A = 6,  /* a block of a GEMM's A packed by one thread (gemm.h) */
    PRELU_SCRATCH_SHARED_ALPHA = 7, /* a layer's alphas laid out once per call for every thread (conv2d_pool.h) */
    PRELU_SCRATCH_FOLDED = 8,    /* a kernel and bias with a BatchNormalization folded in (batchnorm.h), read by the convolution */
    PRELU_SCRATCH_SLOTS = 9,
};
float *prelu_scratch(int slot, size_t floats);

/* A kernel in the form a forward product reads (Winograd's transform, packed panels), kept by the calling thread from
 * one call to the next: the form's memory for (kernel, key), where key names the form (the shape, the layout); *current
 * is 1 when it holds the form of the kernel's present values, compared value by value with the ones it was made from
 * (training changes them between calls), else 0, and the caller must make it now. The sixteen forms used last stay. */
float *prelu_kernel_form(const float *kernel, size_t kernel_floats, int64_t key, size_t form_floats, int *current);

/* Adds `flops` to prelu_flops_executed's count: each kernel path says what it executed, where it executed it. */
void prelu_count_flops(int64_t flops);

/* Threads every parallel region uses (prelu_set_threads; one per core by default). */
int prelu_thread_count(void);

/* The kernel set for one instruction set; runtime.c picks one at run time. */
typedef struct prelu_kernels {
    /* A convolution (+ bias + activation), and the max pooling after it where the pooling's shape is not NULL. */
    void (*conv2d_pool_forward)(const prelu_conv2d_shape *, const prelu_activation *, const prelu_conv2d_shape *, const float *,
                           const float *, const float *, const float *, float *, float *, float *, const prelu_dropout *);
    void (*conv2d_pool_backward)(const prelu_conv2d_shape *, const prelu_activation *, const prelu_conv2d_shape *, const float *,
                            const float *, const float *, const float *, const float *, float *, const float *, float *, float *,
                            float *, float *, float *);
    void (*depthwise_forward)(const prelu_conv2d_shape *, const prelu_activation *, const float *, const float *, const float *,
                              const float *, float *, float *);
    void (*depthwise_backward)(const prelu_conv2d_shape *, const prelu_activation *, const float *, const float *, const float *,
                               const float *, float *, float *, float *, float *, float *);
    void (*dense_forward)(int32_t, int32_t, int32_t, const prelu_activation *, const float *, const float *,
                          const float *, const float *, float *, float *);
    void (*dense_backward)(int32_t, int32_t, int32_t, const prelu_activation *, const float *, const float *,
                           const float *, const float *, float *, float *, float *, float *, float *);
    void (*maxpool2d_forward)(const prelu_conv2d_shape *, const float *, float *);
    void (*maxpool2d_backward)(const prelu_conv2d_shape *, const float *, const float *, float *);
    void (*avgpool2d_forward)(const prelu_conv2d_shape *, const float *, float *);
    void (*avgpool2d_backward)(const prelu_conv2d_shape *, const float *, float *);
    void (*batchnorm_forward)(int32_t, int32_t, int32_t, float, float, const float *, const float *, const float *, float *,
                              float *, float *);
    void (*batchnorm_backward)(int32_t, int32_t, float, const float *, const float *, const float *, float *, float *, float *);
    void (*conv2d_batchnorm_inference)(const prelu_conv2d_shape *, const prelu_activation *, const float *, const float *, const float *,
                                       const float *, const float *, const float *, const float *, float, const float *, float *, float *);
    void (*batchnorm_activation_forward)(int32_t, int32_t, int32_t, int32_t, float, float, const float *, const float *, const float *,
                                         float *, float *, const prelu_activation *, const float *, float *, float *);
    void (*batchnorm_activation_backward)(int32_t, int32_t, int32_t, float, const float *, const float *, const prelu_activation *,
                                          const float *, const float *, float *, float *, float *, float *);
    void (*activation_forward)(int32_t, const prelu_activation *, const float *, const float *, float *);
    void (*activation_backward)(int32_t, const prelu_activation *, const float *, const float *, float *, float *, float *);
    void (*dropout_forward)(int64_t, float, uint64_t, uint64_t, const float *, float *, float *);
    void (*dropout_backward)(int64_t, const float *, const float *, float *);
    void (*adam)(int64_t, float, float, float, float, float *, const float *, float *, float *);
} prelu_kernels;

extern const prelu_kernels prelu_kernels_portable;
#if defined(__x86_64__) || defined(__i386__)
extern const prelu_kernels prelu_kernels_avx2;
extern const prelu_kernels prelu_kernels_avx512;
#define PRELU_HAVE_X86_KERNELS 1
#endif
#if defined(__aarch64__)
extern const prelu_kernels prelu_kernels_neon;
#define PRELU_HAVE_ARM_KERNELS 1
#endif

const prelu_kernels *prelu_active_kernels(void);

#endif
