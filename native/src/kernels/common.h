/* common.h: what every kernel header uses. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "../internal.h"

#ifdef PRELU_AVX2
#include <immintrin.h>
#endif
#ifdef PRELU_NEON
#include <arm_neon.h>
#endif

static inline int min_int(int a, int b) { return a < b ? a : b; }
static inline int max_int(int a, int b) { return a > b ? a : b; }

/* The (output, tap) pairs of one spatial axis whose input lies inside the map (padding reads none): a window's taps
 * that a convolution's products, or a col2im's adds, actually execute. */
static inline int64_t taps_inside(int input, int output, int window, int stride, int pad) {
    int64_t pairs = 0;
    for (int o = 0; o < output; o++)
        for (int k = 0; k < window; k++) {
            int i = o * stride - pad + k;
            pairs += i >= 0 && i < input;
        }
    return pairs;
}

#ifdef PRELU_AVX512
/* The mask of a vector's first `lanes` lanes: all 16 from 16 on, none below 1 (a row's last, partial vector). */
static inline __mmask16 lanes_mask(int lanes) {
    return lanes >= 16 ? (__mmask16)0xFFFF : lanes <= 0 ? (__mmask16)0 : (__mmask16)((1u << lanes) - 1);
}
#endif

/* Per-thread partial sums, so that a parallel region adds nothing to shared memory (no atomics): `threads`
 * blocks of `per_thread` floats in the calling thread's scratch, zeroed. */
static inline float *thread_partials(int threads, long per_thread) {
    float *partials = prelu_scratch(PRELU_SCRATCH_PARTIALS, (size_t)threads * per_thread);
    memset(partials, 0, (size_t)threads * per_thread * sizeof(float));
    return partials;
}

/* dst = the sum over threads of their floats [offset, offset + length), added in thread order: the same bits on
 * every run. Nothing when dst is NULL (a gradient nobody asked for). */
static inline void add_thread_partials(float *dst, const float *partials, int threads, long per_thread, long offset, long length) {
    if (!dst) return;
    memcpy(dst, partials + offset, (size_t)length * sizeof(float));
    for (int t = 1; t < threads; t++) {
        const float *part = partials + t * per_thread + offset;
        for (long i = 0; i < length; i++) dst[i] += part[i];
    }
}
