/* kernels_body.h: the hot kernels, written once and compiled twice: by kernels_avx2.c with -mavx2
 * -mfma (PRELU_AVX2 defined, an intrinsic GEMM micro-kernel) and by kernels_portable.c for any x86-64
 * (plain C). K(name) gives each build its own names. Everything here follows the C# reference
 * (src/Prelu.Runtime/Reference), which the tests hold it to. */

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#ifdef PRELU_AVX2
#include <immintrin.h>
#endif

#define MR 6
#define NR 16
#define KC 512

static inline int K(min_int)(int a, int b) { return a < b ? a : b; }

/* ---- GEMM ------------------------------------------------------------------------------------------
 * C (M x N, row stride ldc) = [C +] A (M x K) * B (K x N, row stride ldb), with A read through strides:
 * A(i, p) = A[i * ars + p * acs], so that both A and its transpose are read in place. */

static void K(block_edge)(int mr, int nr, int kc, const float *A, long ars, long acs, const float *B, long ldb,
                          float *C, long ldc, int accumulate) {
    float acc[MR][NR];
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nr; j++) acc[i][j] = accumulate ? C[i * ldc + j] : 0.0f;
    for (int p = 0; p < kc; p++) {
        const float *b = B + p * ldb;
        for (int i = 0; i < mr; i++) {
            float a = A[i * ars + p * acs];
            for (int j = 0; j < nr; j++) acc[i][j] += a * b[j];
        }
    }
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nr; j++) C[i * ldc + j] = acc[i][j];
}

#ifdef PRELU_AVX2
/* 6 x 16 of C in 12 ymm registers; per step of p: 2 loads of B, 6 broadcasts of A, 12 FMAs. */
static void K(block_6x16)(int kc, const float *A, long ars, long acs, const float *B, long ldb, float *C, long ldc,
                          int accumulate) {
    __m256 c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
    if (accumulate) {
        c00 = _mm256_loadu_ps(C + 0 * ldc); c01 = _mm256_loadu_ps(C + 0 * ldc + 8);
        c10 = _mm256_loadu_ps(C + 1 * ldc); c11 = _mm256_loadu_ps(C + 1 * ldc + 8);
        c20 = _mm256_loadu_ps(C + 2 * ldc); c21 = _mm256_loadu_ps(C + 2 * ldc + 8);
        c30 = _mm256_loadu_ps(C + 3 * ldc); c31 = _mm256_loadu_ps(C + 3 * ldc + 8);
        c40 = _mm256_loadu_ps(C + 4 * ldc); c41 = _mm256_loadu_ps(C + 4 * ldc + 8);
        c50 = _mm256_loadu_ps(C + 5 * ldc); c51 = _mm256_loadu_ps(C + 5 * ldc + 8);
    } else {
        c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = _mm256_setzero_ps();
    }
    const float *a0 = A, *a1 = A + ars, *a2 = A + 2 * ars, *a3 = A + 3 * ars, *a4 = A + 4 * ars, *a5 = A + 5 * ars;
    for (int p = 0; p < kc; p++) {
        __m256 b0 = _mm256_loadu_ps(B), b1 = _mm256_loadu_ps(B + 8);
        __m256 a;
        long o = p * acs;
        a = _mm256_broadcast_ss(a0 + o); c00 = _mm256_fmadd_ps(a, b0, c00); c01 = _mm256_fmadd_ps(a, b1, c01);
        a = _mm256_broadcast_ss(a1 + o); c10 = _mm256_fmadd_ps(a, b0, c10); c11 = _mm256_fmadd_ps(a, b1, c11);
        a = _mm256_broadcast_ss(a2 + o); c20 = _mm256_fmadd_ps(a, b0, c20); c21 = _mm256_fmadd_ps(a, b1, c21);
        a = _mm256_broadcast_ss(a3 + o); c30 = _mm256_fmadd_ps(a, b0, c30); c31 = _mm256_fmadd_ps(a, b1, c31);
        a = _mm256_broadcast_ss(a4 + o); c40 = _mm256_fmadd_ps(a, b0, c40); c41 = _mm256_fmadd_ps(a, b1, c41);
        a = _mm256_broadcast_ss(a5 + o); c50 = _mm256_fmadd_ps(a, b0, c50); c51 = _mm256_fmadd_ps(a, b1, c51);
        B += ldb;
    }
    _mm256_storeu_ps(C + 0 * ldc, c00); _mm256_storeu_ps(C + 0 * ldc + 8, c01);
    _mm256_storeu_ps(C + 1 * ldc, c10); _mm256_storeu_ps(C + 1 * ldc + 8, c11);
    _mm256_storeu_ps(C + 2 * ldc, c20); _mm256_storeu_ps(C + 2 * ldc + 8, c21);
    _mm256_storeu_ps(C + 3 * ldc, c30); _mm256_storeu_ps(C + 3 * ldc + 8, c31);
    _mm256_storeu_ps(C + 4 * ldc, c40); _mm256_storeu_ps(C + 4 * ldc + 8, c41);
    _mm256_storeu_ps(C + 5 * ldc, c50); _mm256_storeu_ps(C + 5 * ldc + 8, c51);
}

/* Fewer than 6 rows (the bottom edge of a matrix), full 16 columns: the same loop on mr rows. Called
 * with a constant mr, so that the compiler unrolls it and keeps the accumulators in registers. */
static inline __attribute__((always_inline)) void K(block_rows_x16)(const int mr, int kc, const float *A, long ars, long acs,
                                                                    const float *B, long ldb, float *C, long ldc, int accumulate) {
    __m256 c[MR][2];
    for (int r = 0; r < mr; r++) {
        c[r][0] = accumulate ? _mm256_loadu_ps(C + r * ldc) : _mm256_setzero_ps();
        c[r][1] = accumulate ? _mm256_loadu_ps(C + r * ldc + 8) : _mm256_setzero_ps();
    }
    for (int p = 0; p < kc; p++) {
        __m256 b0 = _mm256_loadu_ps(B + p * ldb), b1 = _mm256_loadu_ps(B + p * ldb + 8);
        for (int r = 0; r < mr; r++) {
            __m256 a = _mm256_broadcast_ss(A + r * ars + p * acs);
            c[r][0] = _mm256_fmadd_ps(a, b0, c[r][0]);
            c[r][1] = _mm256_fmadd_ps(a, b1, c[r][1]);
        }
    }
    for (int r = 0; r < mr; r++) {
        _mm256_storeu_ps(C + r * ldc, c[r][0]);
        _mm256_storeu_ps(C + r * ldc + 8, c[r][1]);
    }
}

static void K(block_edge_rows)(int mr, int kc, const float *A, long ars, long acs, const float *B, long ldb, float *C,
                               long ldc, int accumulate) {
    switch (mr) {
    case 1: K(block_rows_x16)(1, kc, A, ars, acs, B, ldb, C, ldc, accumulate); break;
    case 2: K(block_rows_x16)(2, kc, A, ars, acs, B, ldb, C, ldc, accumulate); break;
    case 3: K(block_rows_x16)(3, kc, A, ars, acs, B, ldb, C, ldc, accumulate); break;
    case 4: K(block_rows_x16)(4, kc, A, ars, acs, B, ldb, C, ldc, accumulate); break;
    default: K(block_rows_x16)(5, kc, A, ars, acs, B, ldb, C, ldc, accumulate); break;
    }
}
#else
static void K(block_6x16)(int kc, const float *A, long ars, long acs, const float *B, long ldb, float *C, long ldc,
                          int accumulate) {
    K(block_edge)(MR, NR, kc, A, ars, acs, B, ldb, C, ldc, accumulate);
}

static void K(block_edge_rows)(int mr, int kc, const float *A, long ars, long acs, const float *B, long ldb, float *C,
                               long ldc, int accumulate) {
    K(block_edge)(mr, NR, kc, A, ars, acs, B, ldb, C, ldc, accumulate);
}
#endif

/* Single-threaded; callers split the work between threads. */
static void K(gemm)(int M, int N, int Kd, const float *A, long ars, long acs, const float *B, long ldb, float *C,
                    long ldc, int accumulate) {
    for (int p0 = 0; p0 < Kd; p0 += KC) {
        int kc = K(min_int)(KC, Kd - p0);
        int acc = accumulate || p0 > 0;
        for (int j0 = 0; j0 < N; j0 += NR) {
            int nr = K(min_int)(NR, N - j0);
            for (int i0 = 0; i0 < M; i0 += MR) {
                int mr = K(min_int)(MR, M - i0);
                const float *a = A + i0 * ars + p0 * acs;
                const float *b = B + p0 * ldb + j0;
                float *c = C + i0 * ldc + j0;
                if (mr == MR && nr == NR)
                    K(block_6x16)(kc, a, ars, acs, b, ldb, c, ldc, acc);
                else if (nr == NR)
                    K(block_edge_rows)(mr, kc, a, ars, acs, b, ldb, c, ldc, acc);
                else
                    K(block_edge)(mr, nr, kc, a, ars, acs, b, ldb, c, ldc, acc);
            }
        }
    }
}

/* The GEMM with its rows split between the threads (in blocks of MR rows). */
static void K(gemm_parallel)(int M, int N, int Kd, const float *A, long ars, long acs, const float *B, long ldb,
                             float *C, long ldc, int accumulate) {
    int blocks = (M + MR - 1) / MR;
#pragma omp parallel num_threads(prelu_thread_count())
    {
        int threads = omp_get_num_threads(), t = omp_get_thread_num();
        int first = blocks * t / threads, last = blocks * (t + 1) / threads;
        int i0 = first * MR, i1 = K(min_int)(last * MR, M);
        if (i1 > i0) K(gemm)(i1 - i0, N, Kd, A + i0 * ars, ars, acs, B, ldb, C + i0 * ldc, ldc, accumulate);
    }
}

/* ---- Activations --------------------------------------------------------------------------------- */

/* PReLU over a row whose alphas are contiguous, as compares and blends: no branch (a branch on the
 * sign of z mispredicts half the time on real activations). GCC does not if-convert these loops, so
 * the AVX2 build spells them out. */
static inline void K(prelu_row)(const float *restrict z, const float *restrict a, float *restrict y, int count) {
    int i = 0;
#ifdef PRELU_AVX2
    const __m256 zero = _mm256_setzero_ps();
    for (; i + 8 <= count; i += 8) {
        __m256 zi = _mm256_loadu_ps(z + i);
        __m256 negative = _mm256_mul_ps(_mm256_loadu_ps(a + i), zi);
        _mm256_storeu_ps(y + i, _mm256_blendv_ps(negative, zi, _mm256_cmp_ps(zi, zero, _CMP_GT_OQ)));
    }
#endif
    for (; i < count; i++) y[i] = z[i] > 0.0f ? z[i] : a[i] * z[i];
}

/* Its backward: da += (z > 0 ? 0 : z * g); g = z > 0 ? g : a * g. */
static inline void K(prelu_row_backward)(const float *restrict z, const float *restrict a, float *restrict g,
                                         float *restrict da, int count) {
    int i = 0;
#ifdef PRELU_AVX2
    const __m256 zero = _mm256_setzero_ps();
    for (; i + 8 <= count; i += 8) {
        __m256 zi = _mm256_loadu_ps(z + i), gi = _mm256_loadu_ps(g + i);
        __m256 positive = _mm256_cmp_ps(zi, zero, _CMP_GT_OQ);
        _mm256_storeu_ps(da + i, _mm256_add_ps(_mm256_loadu_ps(da + i), _mm256_blendv_ps(_mm256_mul_ps(zi, gi), zero, positive)));
        _mm256_storeu_ps(g + i, _mm256_blendv_ps(_mm256_mul_ps(_mm256_loadu_ps(a + i), gi), gi, positive));
    }
#endif
    for (; i < count; i++) {
        float zi = z[i], gi = g[i];
        if (zi > 0.0f) continue;
        da[i] += zi * gi;
        g[i] = a[i] * gi;
    }
}

/* LeakyReLU and ReLU (slope 0) rows, the same way. */
static inline void K(leaky_row)(const float *restrict z, float slope, float *restrict y, int count) {
    int i = 0;
#ifdef PRELU_AVX2
    const __m256 zero = _mm256_setzero_ps(), s = _mm256_set1_ps(slope);
    for (; i + 8 <= count; i += 8) {
        __m256 zi = _mm256_loadu_ps(z + i);
        _mm256_storeu_ps(y + i, _mm256_blendv_ps(_mm256_mul_ps(s, zi), zi, _mm256_cmp_ps(zi, zero, _CMP_GT_OQ)));
    }
#endif
    for (; i < count; i++) y[i] = z[i] > 0.0f ? z[i] : slope * z[i];
}

static inline void K(leaky_row_backward)(const float *restrict z, float slope, float *restrict g, int count) {
    int i = 0;
#ifdef PRELU_AVX2
    const __m256 zero = _mm256_setzero_ps(), s = _mm256_set1_ps(slope);
    for (; i + 8 <= count; i += 8) {
        __m256 zi = _mm256_loadu_ps(z + i), gi = _mm256_loadu_ps(g + i);
        _mm256_storeu_ps(g + i, _mm256_blendv_ps(_mm256_mul_ps(s, gi), gi, _mm256_cmp_ps(zi, zero, _CMP_GT_OQ)));
    }
#endif
    for (; i < count; i++) g[i] = z[i] > 0.0f ? g[i] : slope * g[i];
}

static inline int K(alpha_index)(const prelu_activation *act, int feature) {
    switch (act->sharing) {
    case PRELU_ALPHA_PER_ELEMENT: return feature;
    case PRELU_ALPHA_CHANNEL_WISE: return feature % act->channels;
    case PRELU_ALPHA_SHARED: return 0;
    default: return act->alpha_map[feature];
    }
}

/* y = act(z) over one sample's features [first, first + count). */
static inline void K(activate)(const prelu_activation *act, const float *alpha, int first, int count, const float *z,
                               float *y) {
    switch (act->kind) {
    case PRELU_RELU:
        K(leaky_row)(z, 0.0f, y, count);
        break;
    case PRELU_LEAKY_RELU:
        K(leaky_row)(z, act->leaky_alpha, y, count);
        break;
    case PRELU_PRELU:
        if (act->sharing == PRELU_ALPHA_PER_ELEMENT) {
            K(prelu_row)(z, alpha + first, y, count);
        } else if (act->sharing == PRELU_ALPHA_CHANNEL_WISE && first % act->channels == 0 && count % act->channels == 0) {
            for (int i = 0; i < count; i += act->channels) K(prelu_row)(z + i, alpha, y + i, act->channels);
        } else {
            for (int i = 0; i < count; i++) y[i] = z[i] > 0.0f ? z[i] : alpha[K(alpha_index)(act, first + i)] * z[i];
        }
        break;
    default:
        if (y != z) memcpy(y, z, (size_t)count * sizeof(float));
        break;
    }
}

/* g: dL/dy in, dL/dz out, over one sample's features [first, first + count); dalpha accumulates. */
static inline void K(activate_backward)(const prelu_activation *act, const float *alpha, int first, int count,
                                        const float *z, float *g, float *dalpha) {
    switch (act->kind) {
    case PRELU_RELU:
        K(leaky_row_backward)(z, 0.0f, g, count);
        break;
    case PRELU_LEAKY_RELU:
        K(leaky_row_backward)(z, act->leaky_alpha, g, count);
        break;
    case PRELU_PRELU:
        if (act->sharing == PRELU_ALPHA_PER_ELEMENT) {
            K(prelu_row_backward)(z, alpha + first, g, dalpha + first, count);
        } else if (act->sharing == PRELU_ALPHA_CHANNEL_WISE && first % act->channels == 0 && count % act->channels == 0) {
            for (int i = 0; i < count; i += act->channels) K(prelu_row_backward)(z + i, alpha, g + i, dalpha, act->channels);
        } else {
            for (int i = 0; i < count; i++) {
                if (z[i] <= 0.0f) {
                    int ai = K(alpha_index)(act, first + i);
                    dalpha[ai] += z[i] * g[i];
                    g[i] *= alpha[ai];
                }
            }
        }
        break;
    default:
        break;
    }
}

/* ---- Conv2D ------------------------------------------------------------------------------------------ */

/* Rows of im2col for one image: row m = (oy, ox) holds the KH x KW x Cin window, zeros where padded. */
static void K(im2col)(const prelu_conv2d_shape *s, const float *image, float *col) {
    int cin = s->in_channels, kd = s->kernel_h * s->kernel_w * cin;
    for (int oy = 0; oy < s->out_h; oy++)
        for (int ox = 0; ox < s->out_w; ox++) {
            float *row = col + (long)(oy * s->out_w + ox) * kd;
            for (int ky = 0; ky < s->kernel_h; ky++) {
                int iy = oy * s->stride_y - s->pad_top + ky;
                for (int kx = 0; kx < s->kernel_w; kx++) {
                    int ix = ox * s->stride_x - s->pad_left + kx;
                    float *dst = row + (ky * s->kernel_w + kx) * cin;
                    /* Plain loops: with few channels (the first layer has one) a memcpy call per
                     * window position costs more than the copy. */
                    if (iy < 0 || iy >= s->height || ix < 0 || ix >= s->width) {
                        for (int c = 0; c < cin; c++) dst[c] = 0.0f;
                    } else {
                        const float *src = image + ((long)iy * s->width + ix) * cin;
                        for (int c = 0; c < cin; c++) dst[c] = src[c];
                    }
                }
            }
        }
}

/* The inverse scatter: each window of dcol is added back into the image gradient. */
static void K(col2im)(const prelu_conv2d_shape *s, const float *dcol, float *dimage) {
    int cin = s->in_channels, kd = s->kernel_h * s->kernel_w * cin;
    memset(dimage, 0, (size_t)s->height * s->width * cin * sizeof(float));
    for (int oy = 0; oy < s->out_h; oy++)
        for (int ox = 0; ox < s->out_w; ox++) {
            const float *row = dcol + (long)(oy * s->out_w + ox) * kd;
            for (int ky = 0; ky < s->kernel_h; ky++) {
                int iy = oy * s->stride_y - s->pad_top + ky;
                if (iy < 0 || iy >= s->height) continue;
                for (int kx = 0; kx < s->kernel_w; kx++) {
                    int ix = ox * s->stride_x - s->pad_left + kx;
                    if (ix < 0 || ix >= s->width) continue;
                    const float *src = row + (ky * s->kernel_w + kx) * cin;
                    float *dst = dimage + ((long)iy * s->width + ix) * cin;
                    for (int c = 0; c < cin; c++) dst[c] += src[c];
                }
            }
        }
}

static void K(conv2d_forward)(const prelu_conv2d_shape *s, const prelu_activation *act, const float *input,
                              const float *kernel, const float *bias, const float *alpha, float *z, float *y) {
    int m = s->out_h * s->out_w, f = s->filters, kd = s->kernel_h * s->kernel_w * s->in_channels;
    long in_size = (long)s->height * s->width * s->in_channels, out_size = (long)m * f;
    int linear = act->kind == PRELU_LINEAR;
#pragma omp parallel for schedule(static) num_threads(prelu_thread_count())
    for (int n = 0; n < s->batch; n++) {
        float *col = prelu_scratch(PRELU_SCRATCH_COLUMNS, (size_t)m * kd);
        K(im2col)(s, input + n * in_size, col);
        float *out = (linear ? y : z) + n * out_size;
        K(gemm)(m, f, kd, col, kd, 1, kernel, f, out, f, 0);
        /* Epilogue, while the image's output is in cache: bias, then the activation. */
        for (int r = 0; r < m; r++) {
            float *row = out + (long)r * f;
            if (bias)
                for (int c = 0; c < f; c++) row[c] += bias[c];
            if (!linear) K(activate)(act, alpha, r * f, f, row, y + n * out_size + (long)r * f);
        }
    }
}

static void K(conv2d_backward)(const prelu_conv2d_shape *s, const prelu_activation *act, const float *input,
                               const float *kernel, const float *alpha, const float *z, float *dy, float *dx,
                               float *dkernel, float *dbias, float *dalpha) {
    int m = s->out_h * s->out_w, f = s->filters, kd = s->kernel_h * s->kernel_w * s->in_channels;
    long in_size = (long)s->height * s->width * s->in_channels, out_size = (long)m * f;
    int threads = prelu_thread_count();
    int alpha_length = act->kind == PRELU_PRELU ? act->alpha_length : 0;
    /* The kernel transposed, (F, KH*KW*Cin), so that dcol = dz * kernel^T reads rows. */
    float *kernel_t = dx ? prelu_scratch(PRELU_SCRATCH_TRANSPOSED, (size_t)kd * f) : NULL;
    if (dx)
        for (int p = 0; p < kd; p++)
            for (int c = 0; c < f; c++) kernel_t[(long)c * kd + p] = kernel[(long)p * f + c];
    /* Per-thread sums of dkernel, dbias and dalpha, added once at the end: no atomics. */
    long per_thread = (long)kd * f + f + alpha_length;
    float *partials = prelu_scratch(PRELU_SCRATCH_PARTIALS, (size_t)threads * per_thread);
    memset(partials, 0, (size_t)threads * per_thread * sizeof(float));

#pragma omp parallel num_threads(threads)
    {
        int t = omp_get_thread_num();
        float *dk = partials + t * per_thread;
        float *db = dk + (long)kd * f, *da = db + f;
        float *col = prelu_scratch(PRELU_SCRATCH_COLUMNS, (size_t)m * kd);
        float *dcol = dx ? prelu_scratch(PRELU_SCRATCH_DCOLUMNS, (size_t)m * kd) : NULL;
#pragma omp for schedule(static)
        for (int n = 0; n < s->batch; n++) {
            float *g = dy + n * out_size;
            if (act->kind != PRELU_LINEAR)
                for (int r = 0; r < m; r++)
                    K(activate_backward)(act, alpha, r * f, f, z + n * out_size + (long)r * f, g + (long)r * f, da);
            for (int r = 0; r < m; r++)
                for (int c = 0; c < f; c++) db[c] += g[(long)r * f + c];
            K(im2col)(s, input + n * in_size, col);
            /* dkernel (KD x F) += col^T (KD x M) * g (M x F) */
            K(gemm)(kd, f, m, col, 1, kd, g, f, dk, f, 1);
            if (dx) {
                /* dcol (M x KD) = g (M x F) * kernel^T (F x KD) */
                K(gemm)(m, kd, f, g, f, 1, kernel_t, kd, dcol, kd, 0);
                K(col2im)(s, dcol, dx + n * in_size);
            }
        }
    }
    /* Added in thread order, so a run is reproducible to the bit. */
    memcpy(dkernel, partials, (size_t)kd * f * sizeof(float));
    if (dbias) memcpy(dbias, partials + (long)kd * f, (size_t)f * sizeof(float));
    if (dalpha) memcpy(dalpha, partials + (long)kd * f + f, (size_t)alpha_length * sizeof(float));
    for (int t = 1; t < threads; t++) {
        const float *part = partials + t * per_thread;
        for (long i = 0; i < (long)kd * f; i++) dkernel[i] += part[i];
        if (dbias)
            for (int c = 0; c < f; c++) dbias[c] += part[(long)kd * f + c];
        if (dalpha)
            for (int i = 0; i < alpha_length; i++) dalpha[i] += part[(long)kd * f + f + i];
    }
}

/* ---- Dense ----------------------------------------------------------------------------------------------- */

static void K(dense_forward)(int32_t batch, int32_t inputs, int32_t units, const prelu_activation *act,
                             const float *input, const float *kernel, const float *bias, const float *alpha, float *z,
                             float *y) {
    int linear = act->kind == PRELU_LINEAR;
    float *out = linear ? y : z;
    K(gemm_parallel)(batch, units, inputs, input, inputs, 1, kernel, units, out, units, 0);
#pragma omp parallel for schedule(static) num_threads(prelu_thread_count())
    for (int b = 0; b < batch; b++) {
        float *row = out + (long)b * units;
        if (bias)
            for (int u = 0; u < units; u++) row[u] += bias[u];
        if (!linear) K(activate)(act, alpha, 0, units, row, y + (long)b * units);
    }
}

static void K(dense_backward)(int32_t batch, int32_t inputs, int32_t units, const prelu_activation *act,
                              const float *input, const float *kernel, const float *alpha, const float *z, float *dy,
                              float *dx, float *dkernel, float *dbias, float *dalpha) {
    if (act->kind != PRELU_LINEAR) {
        if (dalpha) memset(dalpha, 0, (size_t)act->alpha_length * sizeof(float));
        /* Small (batch x units): one pass, in order, so the alpha sums need no reduction. */
        for (int b = 0; b < batch; b++)
            K(activate_backward)(act, alpha, 0, units, z + (long)b * units, dy + (long)b * units, dalpha);
    }
    if (dbias) {
        memset(dbias, 0, (size_t)units * sizeof(float));
        for (int b = 0; b < batch; b++)
            for (int u = 0; u < units; u++) dbias[u] += dy[(long)b * units + u];
    }
    /* dkernel (I x U) = input^T (I x B) * dy (B x U) */
    K(gemm_parallel)(inputs, units, batch, input, 1, inputs, dy, units, dkernel, units, 0);
    if (dx) {
        /* dx (B x I) = dy (B x U) * kernel^T (U x I) */
        float *kernel_t = prelu_scratch(PRELU_SCRATCH_TRANSPOSED, (size_t)inputs * units);
#pragma omp parallel for schedule(static) num_threads(prelu_thread_count())
        for (int u = 0; u < units; u++)
            for (int i = 0; i < inputs; i++) kernel_t[(long)u * inputs + i] = kernel[(long)i * units + u];
        K(gemm_parallel)(batch, inputs, units, dy, units, 1, kernel_t, inputs, dx, inputs, 0);
    }
}

/* ---- Max pooling ------------------------------------------------------------------------------------------ */

/* Pooling works on one output position at a time with the channels innermost (NHWC keeps them
 * contiguous), so every loop runs over contiguous floats. Ties go to the first window position. */
static void K(maxpool2d_forward)(const prelu_conv2d_shape *s, const float *input, float *y) {
    int ch = s->in_channels;
    long in_size = (long)s->height * s->width * ch, out_size = (long)s->out_h * s->out_w * ch;
#pragma omp parallel for schedule(static) num_threads(prelu_thread_count())
    for (int n = 0; n < s->batch; n++) {
        const float *image = input + n * in_size;
        for (int oy = 0; oy < s->out_h; oy++)
            for (int ox = 0; ox < s->out_w; ox++) {
                float *out = y + n * out_size + ((long)oy * s->out_w + ox) * ch;
                int first = 1;
                for (int py = 0; py < s->kernel_h; py++) {
                    int iy = oy * s->stride_y - s->pad_top + py;
                    if (iy < 0 || iy >= s->height) continue;
                    for (int px = 0; px < s->kernel_w; px++) {
                        int ix = ox * s->stride_x - s->pad_left + px;
                        if (ix < 0 || ix >= s->width) continue;
                        const float *in = image + ((long)iy * s->width + ix) * ch;
                        if (first) {
                            for (int c = 0; c < ch; c++) out[c] = in[c];
                            first = 0;
                        } else {
#pragma omp simd
                            for (int c = 0; c < ch; c++) out[c] = in[c] > out[c] ? in[c] : out[c];
                        }
                    }
                }
            }
    }
}

static void K(maxpool2d_backward)(const prelu_conv2d_shape *s, const float *input, const float *dy, float *dx) {
    int ch = s->in_channels;
    long in_size = (long)s->height * s->width * ch, out_size = (long)s->out_h * s->out_w * ch;
#pragma omp parallel for schedule(static) num_threads(prelu_thread_count())
    for (int n = 0; n < s->batch; n++) {
        const float *image = input + n * in_size;
        float *dimage = dx + n * in_size;
        memset(dimage, 0, (size_t)in_size * sizeof(float));
        float *best = prelu_scratch(PRELU_SCRATCH_COLUMNS, (size_t)2 * ch);
        int32_t *where = (int32_t *)(best + ch);
        for (int oy = 0; oy < s->out_h; oy++)
            for (int ox = 0; ox < s->out_w; ox++) {
                int first = 1;
                for (int py = 0; py < s->kernel_h; py++) {
                    int iy = oy * s->stride_y - s->pad_top + py;
                    if (iy < 0 || iy >= s->height) continue;
                    for (int px = 0; px < s->kernel_w; px++) {
                        int ix = ox * s->stride_x - s->pad_left + px;
                        if (ix < 0 || ix >= s->width) continue;
                        int32_t offset = (iy * s->width + ix) * ch;
                        const float *in = image + offset;
                        if (first) {
                            for (int c = 0; c < ch; c++) {
                                best[c] = in[c];
                                where[c] = offset + c;
                            }
                            first = 0;
                        } else {
#pragma omp simd
                            for (int c = 0; c < ch; c++) {
                                int better = in[c] > best[c];
                                best[c] = better ? in[c] : best[c];
                                where[c] = better ? offset + c : where[c];
                            }
                        }
                    }
                }
                const float *g = dy + n * out_size + ((long)oy * s->out_w + ox) * ch;
                for (int c = 0; c < ch; c++) dimage[where[c]] += g[c];
            }
    }
}

/* ---- Standalone activations, dropout, Adam ------------------------------------------------------------------ */

static void K(activation_forward)(int32_t batch, const prelu_activation *act, const float *x, const float *alpha, float *y) {
    long fl = act->feature_length;
#pragma omp parallel for schedule(static) num_threads(prelu_thread_count())
    for (int n = 0; n < batch; n++) K(activate)(act, alpha, 0, (int)fl, x + n * fl, y + n * fl);
}

static void K(activation_backward)(int32_t batch, const prelu_activation *act, const float *x, const float *alpha,
                                   float *dy, float *dx, float *dalpha) {
    long fl = act->feature_length;
    int alpha_length = act->kind == PRELU_PRELU ? act->alpha_length : 0;
    float *g = dx ? dx : dy;
    if (dx && dx != dy) memcpy(dx, dy, (size_t)batch * fl * sizeof(float));
    int threads = prelu_thread_count();
    long per_thread = alpha_length + 1;
    float *partials = prelu_scratch(PRELU_SCRATCH_PARTIALS, (size_t)threads * per_thread);
    memset(partials, 0, (size_t)threads * per_thread * sizeof(float));
#pragma omp parallel num_threads(threads)
    {
        float *da = partials + omp_get_thread_num() * per_thread;
#pragma omp for schedule(static)
        for (int n = 0; n < batch; n++) K(activate_backward)(act, alpha, 0, (int)fl, x + n * fl, g + n * fl, da);
    }
    if (dalpha) {
        memset(dalpha, 0, (size_t)alpha_length * sizeof(float));
        for (int t = 0; t < threads; t++)
            for (int i = 0; i < alpha_length; i++) dalpha[i] += partials[t * per_thread + i];
    }
}

static void K(dropout_forward)(int64_t length, float rate, uint64_t seed, uint64_t step, const float *x, float *mask, float *y) {
    /* Prelu.Reference.DropoutRandom, in 32-bit arithmetic so that the loop vectorises (vpmulld). */
    const float scale = 1.0f / (1.0f - rate);
    const uint32_t base = (uint32_t)seed * 0x9E3779B1u ^ (uint32_t)(seed >> 32) * 0x85EBCA77u ^
                          (uint32_t)step * 0xC2B2AE3Du ^ (uint32_t)(step >> 32) * 0x27D4EB2Fu;
#pragma omp parallel for simd schedule(static) num_threads(prelu_thread_count())
    for (int64_t i = 0; i < length; i++) {
        uint32_t h = base ^ (uint32_t)i * 0x165667B1u;
        h ^= h >> 16;
        h *= 0x85EBCA6Bu;
        h ^= h >> 13;
        h *= 0xC2B2AE35u;
        h ^= h >> 16;
        float u = (float)(h >> 8) * (1.0f / 16777216.0f);
        float keep = u >= rate ? scale : 0.0f;
        mask[i] = keep;
        y[i] = x[i] * keep;
    }
}

static void K(adam)(int64_t length, float alpha_t, float beta1, float beta2, float epsilon, float *param,
                    const float *grad, float *m, float *v) {
    float one_minus_beta1 = 1.0f - beta1, one_minus_beta2 = 1.0f - beta2;
#pragma omp parallel for simd schedule(static) num_threads(prelu_thread_count())
    for (int64_t i = 0; i < length; i++) {
        float g = grad[i];
        float mi = m[i] + (g - m[i]) * one_minus_beta1;
        float vi = v[i] + (g * g - v[i]) * one_minus_beta2;
        m[i] = mi;
        v[i] = vi;
        param[i] -= mi * alpha_t / (sqrtf(vi) + epsilon);
    }
}

const prelu_kernels PRELU_KERNEL_TABLE = {
    K(conv2d_forward), K(conv2d_backward), K(dense_forward), K(dense_backward), K(maxpool2d_forward),
    K(maxpool2d_backward), K(activation_forward), K(activation_backward), K(dropout_forward), K(adam),
};
