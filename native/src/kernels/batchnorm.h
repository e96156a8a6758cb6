/* batchnorm.h: batch normalisation over the last axis, x seen as (rows, channels), forward and backward, two passes over
 * the tensor each way, with the activation after it too (batchnorm_activation_forward and _backward, the fused
 * convolution + BatchNormalization + activation's second half; in evaluation conv2d_batchnorm_inference folds the
 * normalisation into the convolution): the channels' sums in one (x and x^2 forward; x, x^2, dy and dy x backward), then
 * the output or the input gradient. The sums are taken in double, per thread over a static range of rows, and added in
 * thread order: the same bits on every run. The variance is E[x^2] - mean^2 and the reductions of the gradient are formed from the
 * sums, where Prelu.Reference.BatchNormalization takes a second pass about the mean: the same values to within float
 * rounding (the conformance and agreement suites hold it to the reference's tolerances). */

/* Rows (a sample's positions) taken at a time where a pass goes over the tensor more than once: a block of up to 4,096
 * floats (16 KB) that stays in L1 (the activation reading a normalised block; the AVX2 build's groups of channels taking
 * their turns over a block of rows). */
static inline long batchnorm_block_positions(int channels) { return channels >= 4096 ? 1 : 4096 / channels; }

#if defined(PRELU_AVX2)
/* The four sums (x, x^2, dy, dy x) of a group of channels in registers, in doubles: 32 channels in AVX-512's 32
 * registers (four vectors of eight doubles a sum), 8 in AVX2's 16 (two of four). Loaded from a thread's sums, added to
 * eight channels of a row at a time (group_sums_add8) and stored back: add_rows_sums and batchnorm_rectifier_rows take
 * their terms through these alone, so the two add in the same order. */
#if defined(PRELU_AVX512)
#define SUMS_GROUP 32
typedef struct {
    __m512d x[4], squares[4], dy[4], dy_x[4];
} group_sums;

static inline __attribute__((always_inline)) void group_sums_load(group_sums *a, const double *sums, int channels, int c0, int with_dy) {
    for (int k = 0; k < 4; k++) {
        long c = c0 + 8 * k;
        a->x[k] = _mm512_loadu_pd(sums + c), a->squares[k] = _mm512_loadu_pd(sums + channels + c);
        a->dy[k] = with_dy ? _mm512_loadu_pd(sums + 2L * channels + c) : _mm512_setzero_pd();
        a->dy_x[k] = with_dy ? _mm512_loadu_pd(sums + 3L * channels + c) : _mm512_setzero_pd();
    }
}

static inline __attribute__((always_inline)) void group_sums_store(const group_sums *a, double *sums, int channels, int c0, int with_dy) {
    for (int k = 0; k < 4; k++) {
        long c = c0 + 8 * k;
        _mm512_storeu_pd(sums + c, a->x[k]), _mm512_storeu_pd(sums + channels + c, a->squares[k]);
        if (with_dy) _mm512_storeu_pd(sums + 2L * channels + c, a->dy[k]), _mm512_storeu_pd(sums + 3L * channels + c, a->dy_x[k]);
    }
}

/* Eight channels' terms (vector k of the group) of one row: x, and dy unless `with_dy` is 0. */
static inline __attribute__((always_inline)) void group_sums_add8(group_sums *a, int k, __m256 x, __m256 dy, int with_dy) {
    __m512d v = _mm512_cvtps_pd(x);
    a->x[k] = _mm512_add_pd(a->x[k], v), a->squares[k] = _mm512_fmadd_pd(v, v, a->squares[k]);
    if (with_dy) {
        __m512d w = _mm512_cvtps_pd(dy);
        a->dy[k] = _mm512_add_pd(a->dy[k], w), a->dy_x[k] = _mm512_fmadd_pd(w, v, a->dy_x[k]);
    }
}
#else
#define SUMS_GROUP 8
typedef struct {
    __m256d x[2], squares[2], dy[2], dy_x[2];
} group_sums;

static inline __attribute__((always_inline)) void group_sums_load(group_sums *a, const double *sums, int channels, int c0, int with_dy) {
    for (int h = 0; h < 2; h++) {
        long c = c0 + 4 * h;
        a->x[h] = _mm256_loadu_pd(sums + c), a->squares[h] = _mm256_loadu_pd(sums + channels + c);
        a->dy[h] = with_dy ? _mm256_loadu_pd(sums + 2L * channels + c) : _mm256_setzero_pd();
        a->dy_x[h] = with_dy ? _mm256_loadu_pd(sums + 3L * channels + c) : _mm256_setzero_pd();
    }
}

static inline __attribute__((always_inline)) void group_sums_store(const group_sums *a, double *sums, int channels, int c0, int with_dy) {
    for (int h = 0; h < 2; h++) {
        long c = c0 + 4 * h;
        _mm256_storeu_pd(sums + c, a->x[h]), _mm256_storeu_pd(sums + channels + c, a->squares[h]);
        if (with_dy) _mm256_storeu_pd(sums + 2L * channels + c, a->dy[h]), _mm256_storeu_pd(sums + 3L * channels + c, a->dy_x[h]);
    }
}

/* The group's eight channels (k is 0) of one row, as AVX-512's group_sums_add8. */
static inline __attribute__((always_inline)) void group_sums_add8(group_sums *a, int k, __m256 x, __m256 dy, int with_dy) {
    (void)k;
    __m256d v[2] = {_mm256_cvtps_pd(_mm256_castps256_ps128(x)), _mm256_cvtps_pd(_mm256_extractf128_ps(x, 1))};
    for (int h = 0; h < 2; h++) a->x[h] = _mm256_add_pd(a->x[h], v[h]), a->squares[h] = _mm256_fmadd_pd(v[h], v[h], a->squares[h]);
    if (with_dy) {
        __m256d w[2] = {_mm256_cvtps_pd(_mm256_castps256_ps128(dy)), _mm256_cvtps_pd(_mm256_extractf128_ps(dy, 1))};
        for (int h = 0; h < 2; h++) a->dy[h] = _mm256_add_pd(a->dy[h], w[h]), a->dy_x[h] = _mm256_fmadd_pd(w[h], v[h], a->dy_x[h]);
    }
}
#endif
#endif

/* The terms of `count` consecutive rows (x and dy, `channels` floats a row) added to the sums, row after row: sums[c] += x,
 * sums[C + c] += x^2 and, where dy is not NULL, sums[2C + c] += dy, sums[3C + c] += dy x. The AVX-512 and AVX2 builds
 * keep a group of channels' sums in registers across a block of rows (group_sums; added in memory a row at a time, their
 * loads and stores bounded these passes): the same additions in the same order, so the same bits. */
static inline void add_rows_sums(int channels, long count, const float *restrict x, const float *restrict dy, double *restrict sums) {
    double *sum = sums, *squares = sum + channels, *sum_dy = squares + channels, *sum_dy_x = sum_dy + channels;
    int c0 = 0;
#if defined(PRELU_AVX2)
    int grouped = channels / SUMS_GROUP * SUMS_GROUP;
    long block = batchnorm_block_positions(channels);
    for (long r0 = 0; r0 < count && grouped > 0; r0 += block) {
        long rows = count - r0 < block ? count - r0 : block;
        for (int c = 0; c < grouped; c += SUMS_GROUP) {
            group_sums a;
            group_sums_load(&a, sums, channels, c, dy != NULL);
            /* With dy and without, each its own loop: group_sums_add8's with_dy a constant in each. */
            if (dy)
                for (long r = r0; r < r0 + rows; r++)
                    for (int k = 0; k < SUMS_GROUP / 8; k++) {
                        long at = r * channels + c + 8 * k;
                        group_sums_add8(&a, k, _mm256_loadu_ps(x + at), _mm256_loadu_ps(dy + at), 1);
                    }
            else
                for (long r = r0; r < r0 + rows; r++)
                    for (int k = 0; k < SUMS_GROUP / 8; k++) group_sums_add8(&a, k, _mm256_loadu_ps(x + r * channels + c + 8 * k), _mm256_setzero_ps(), 0);
            group_sums_store(&a, sums, channels, c, dy != NULL);
        }
    }
    c0 = grouped;
#endif
    if (c0 == channels) return;
    for (long r = 0; r < count; r++) {
        const float *row = x + r * channels, *g = dy ? dy + r * channels : NULL;
        if (g) {
#pragma omp simd
            for (int c = c0; c < channels; c++) {
                double v = row[c], w = g[c];
                sum[c] += v;
                squares[c] += v * v;
                sum_dy[c] += w;
                sum_dy_x[c] += w * v;
            }
        } else {
#pragma omp simd
            for (int c = c0; c < channels; c++) {
                double v = row[c];
                sum[c] += v;
                squares[c] += v * v;
            }
        }
    }
}

/* sums = the threads' partial sums (count doubles each, `stride` doubles apart) added in thread order: the same bits on
 * every run. */
static inline void add_double_partials(double *sums, const double *partials, int threads, long stride, long count) {
    for (long i = 0; i < count; i++) sums[i] = partials[i];
    for (int t = 1; t < threads; t++)
        for (long i = 0; i < count; i++) sums[i] += partials[(long)t * stride + i];
}

/* Each channel's sums over the rows, in one pass: sums[c] of x, sums[C + c] of x^2, and with dy, sums[2C + c] of dy and
 * sums[3C + c] of dy x. `work` holds (dy ? 4 : 2) x channels doubles. */
static void channel_sums(long rows, int channels, const float *x, const float *dy, double *sums) {
    int threads = prelu_thread_count(), kinds = dy ? 4 : 2;
    long per_thread = (long)kinds * channels;
    double *partials = (double *)thread_partials(threads, 2 * per_thread); /* a double is two floats */
#pragma omp parallel num_threads(threads)
    {
        /* The thread's rows as an OpenMP static schedule shares them out (libgomp's split: the first rows % team threads
         * take one more), in one run. */
        int team = omp_get_num_threads(), t = omp_get_thread_num();
        long share = rows / team, extra = rows % team, first = t * share + (t < extra ? t : extra);
        long count = share + (t < extra);
        add_rows_sums(channels, count, x + first * channels, dy ? dy + first * channels : NULL, partials + (long)t * per_thread);
    }
    add_double_partials(sums, partials, threads, per_thread, per_thread);
}

/* Each channel's batch mean and biased variance from the sums (in double: E[x^2] - mean^2 loses nothing that matters for
 * float data), in float as the reference rounds them. */
static void batch_statistics(long rows, int channels, const double *sums, float *mean, float *variance) {
    for (int c = 0; c < channels; c++) {
        double m = sums[c] / (double)rows, v = sums[channels + c] / (double)rows - m * m;
        mean[c] = (float)m;
        variance[c] = (float)(v > 0.0 ? v : 0.0);
    }
}

/* The statistics' scratch: 4 x channels doubles of sums, then eight rows of channels floats (mean, variance, and six
 * more: backward's inverse, two sums, scale and two terms). */
static float *batchnorm_scratch(int channels, double **work) {
    float *scratch = prelu_scratch(PRELU_SCRATCH_COLUMNS, (size_t)16 * channels);
    *work = (double *)scratch;
    return scratch + 8L * channels;
}

/* y = (x - mean) scale + offset's scale and offset per channel, from the variance the forward normalises by. */
static inline void batchnorm_scale_offset(int channels, float epsilon, const float *gamma, const float *beta, const float *variance,
                                          float *scale, float *offset) {
    for (int c = 0; c < channels; c++) {
        scale[c] = (gamma ? gamma[c] : 1.0f) / sqrtf(variance[c] + epsilon);
        offset[c] = beta ? beta[c] : 0.0f;
    }
}

/* The forward's statistics (the batch's in training, which move the moving ones; else the moving ones) and from them
 * y = (x - mean) scale + offset's terms per channel, in the scratch: mean, variance, scale, offset (returned: mean). */
static float *batchnorm_forward_terms(long rows, int channels, int training, float momentum, float epsilon, const float *x,
                                      const float *gamma, const float *beta, float *moving_mean, float *moving_variance) {
    double *work;
    float *mean = batchnorm_scratch(channels, &work), *variance = mean + channels;
    float *scale = variance + channels, *offset = scale + channels;
    if (training) {
        channel_sums(rows, channels, x, NULL, work);
        batch_statistics(rows, channels, work, mean, variance);
        for (int c = 0; c < channels; c++) {
            moving_mean[c] = moving_mean[c] * momentum + mean[c] * (1.0f - momentum);
            moving_variance[c] = moving_variance[c] * momentum + variance[c] * (1.0f - momentum);
        }
    } else {
        memcpy(mean, moving_mean, (size_t)channels * sizeof(float));
        memcpy(variance, moving_variance, (size_t)channels * sizeof(float));
    }
    batchnorm_scale_offset(channels, epsilon, gamma, beta, variance, scale, offset);
    return mean;
}

/* One row of the forward: y = (x - mean) scale + offset. */
static inline void normalize_row(int channels, const float *restrict x, const float *restrict mean, const float *restrict scale,
                                 const float *restrict offset, float *restrict y) {
#pragma omp simd
    for (int c = 0; c < channels; c++) y[c] = (x[c] - mean[c]) * scale[c] + offset[c];
}

static void batchnorm_forward(int32_t rows, int32_t channels, int32_t training, float momentum, float epsilon, const float *x,
                              const float *gamma, const float *beta, float *moving_mean, float *moving_variance, float *y) {
    float *mean = batchnorm_forward_terms(rows, channels, training, momentum, epsilon, x, gamma, beta, moving_mean, moving_variance);
    const float *scale = mean + 2L * channels, *offset = scale + channels;
#pragma omp parallel for schedule(static) num_threads(prelu_thread_count())
    for (long r = 0; r < rows; r++) normalize_row(channels, x + r * channels, mean, scale, offset, y + r * channels);
}

/* dbeta = sum dy, dgamma = sum dy xhat, dx = gamma / sqrt(var + eps) (dy - dbeta / M - xhat dgamma / M), from the four
 * sums of channel_sums (in `work`, the scratch of batchnorm_scratch). dx may be dy. */
static void batchnorm_backward_from_sums(long rows, int channels, float epsilon, const float *x, const float *gamma, double *work,
                                         float *mean, const float *dy, float *dx, float *dgamma, float *dbeta) {
    float *variance = mean + channels;
    float *inverse = variance + channels, *sums = inverse + channels; /* sums: dbeta then dgamma, 2 x channels */
    batch_statistics(rows, channels, work, mean, variance);
    float m = (float)rows;
    float *scale = sums + 2L * channels, *beta_term = scale + channels, *gamma_term = beta_term + channels;
    for (int c = 0; c < channels; c++) {
        inverse[c] = 1.0f / sqrtf(variance[c] + epsilon);
        /* sum dy xhat = (sum dy x - mean sum dy) / sigma */
        double sum_dy = work[2L * channels + c], sum_dy_x = work[3L * channels + c], exact_mean = work[c] / (double)rows;
        sums[c] = (float)sum_dy;
        sums[channels + c] = (float)((sum_dy_x - exact_mean * sum_dy) * inverse[c]);
        /* The terms of dx that do not change from row to row, rounded as the reference rounds them. */
        scale[c] = (gamma ? gamma[c] : 1.0f) * inverse[c];
        beta_term[c] = sums[c] / m;
        gamma_term[c] = sums[channels + c] / m;
    }
    const float *dbeta_sums = sums, *dgamma_sums = sums + channels;
    if (dbeta) memcpy(dbeta, dbeta_sums, (size_t)channels * sizeof(float));
    if (dgamma) memcpy(dgamma, dgamma_sums, (size_t)channels * sizeof(float));
    if (!dx) return;
#pragma omp parallel for schedule(static) num_threads(prelu_thread_count())
    for (long r = 0; r < rows; r++) {
        const float *in = x + r * channels, *g = dy + r * channels;
        float *out = dx + r * channels;
#pragma omp simd
        for (int c = 0; c < channels; c++) {
            float xhat = (in[c] - mean[c]) * inverse[c];
            out[c] = scale[c] * (g[c] - beta_term[c] - xhat * gamma_term[c]);
        }
    }
}

/* One pass for the statistics and the two reductions, then one for dx. */
static void batchnorm_backward(int32_t rows, int32_t channels, float epsilon, const float *x, const float *gamma, const float *dy,
                               float *dx, float *dgamma, float *dbeta) {
    double *work;
    float *mean = batchnorm_scratch(channels, &work);
    channel_sums(rows, channels, x, dy, work);
    batchnorm_backward_from_sums(rows, channels, epsilon, x, gamma, work, mean, dy, dx, dgamma, dbeta);
}

/* ---- BatchNormalization and the activation after it, one call (the fused convolution + BatchNormalization + activation) ----
 * x is a convolution's output, batch samples of positions x channels. Forward: the statistics as batchnorm_forward takes
 * them, then one pass that normalises a block of a sample's positions and activates it into y while it is in L1 (a
 * linear activation normalises into y): the same sums and the same expressions as batchnorm_forward followed by
 * activation_forward, so the same bits. z, the backward's workspace, does not get the normalised tensor but the three
 * rows of terms it is made from (mean, scale, offset: batchnorm_keeps_terms), and the backward normalises x again with
 * them, block by block, to the same bits: a write of the tensor less forward, and backward a read of x in place of one
 * of z. Backward: one pass takes the activation's gradient in place in dy (and the alphas' sums) and, on the same block
 * while it is in cache, the four sums of channel_sums (for a rectifier over whole groups of 32 channels, the AVX-512 build
 * does all of it a row at a time in registers, the AVX2 build over whole groups of 8: batchnorm_rectifier_rows); a second
 * turns dy into dx in place. The sums run over samples
 * where channel_sums runs over rows: the same partition into threads when the batch divides by the thread count,
 * otherwise the same values to float rounding. (Leaving dy as it is in the first pass and taking the activation's
 * gradient again in the second, to spare a write of dy, was tried: the backward of bn-prelu's 26 x 26 x 32 block went
 * from 4.2-4.4 to 6.0-6.8 ms; these passes are bound by their arithmetic, not by memory.) */

/* Whether z holds the forward's terms (3 x channels floats: three rows or more) rather than the normalised tensor. */
static inline int batchnorm_keeps_terms(long rows) { return rows >= 3; }

/* Positions [p0, p0 + count) of one sample, normalised by the terms into `block`. */
static inline void normalize_block(int channels, const float *x, long p0, long count, const float *mean, const float *scale,
                                   const float *offset, float *block) {
    for (long p = 0; p < count; p++) normalize_row(channels, x + (p0 + p) * channels, mean, scale, offset, block + p * channels);
}

static void batchnorm_activation_forward(int32_t batch, int32_t positions, int32_t channels, int32_t training, float momentum,
                                         float epsilon, const float *x, const float *gamma, const float *beta, float *moving_mean,
                                         float *moving_variance, const prelu_activation *act, const float *alpha, float *z, float *y) {
    long rows = (long)batch * positions, sample = (long)positions * channels;
    float *mean = batchnorm_forward_terms(rows, channels, training, momentum, epsilon, x, gamma, beta, moving_mean, moving_variance);
    const float *scale = mean + 2L * channels, *offset = scale + channels;
    int linear = act->kind == PRELU_LINEAR, keeps_terms = !linear && batchnorm_keeps_terms(rows);
    long per_block = keeps_terms ? batchnorm_block_positions(channels) : positions;
#pragma omp parallel num_threads(prelu_thread_count())
    {
        /* The normalised block: the thread's scratch where z keeps the terms, else z (y for a linear layer) itself. */
        float *block = keeps_terms ? prelu_scratch(PRELU_SCRATCH_DCOLUMNS, (size_t)per_block * channels) : NULL;
#pragma omp for schedule(static)
        for (int n = 0; n < batch; n++)
            for (long p0 = 0; p0 < positions; p0 += per_block) {
                long count = positions - p0 < per_block ? positions - p0 : per_block, at = n * sample + p0 * channels;
                float *normalized = keeps_terms ? block : (linear ? y : z) + at;
                normalize_block(channels, x + n * sample, p0, count, mean, scale, offset, normalized);
                if (!linear) activate(act, alpha, (int)(p0 * channels), (int)(count * channels), normalized, y + at);
            }
    }
    if (keeps_terms) {
        memcpy(z, mean, (size_t)channels * sizeof(float));
        memcpy(z + channels, scale, (size_t)channels * sizeof(float));
        memcpy(z + 2L * channels, offset, (size_t)channels * sizeof(float));
    }
}

/* Whether the backward's first pass takes a sample's rows in registers (batchnorm_rectifier_rows): the AVX-512 build over
 * groups of 32 channels, the AVX2 build over groups of 8, z keeping the terms, and a ReLU, a LeakyReLU or a channel-wise
 * PReLU (an alpha per channel). */
static inline int batchnorm_rows_in_registers(const prelu_activation *act, int channels, int keeps_terms) {
#if defined(PRELU_AVX2)
#if defined(PRELU_AVX512)
    const int group = 32;
#else
    const int group = 8;
#endif
    return keeps_terms && channels % group == 0 &&
           (act->kind == PRELU_RELU || act->kind == PRELU_LEAKY_RELU ||
            (act->kind == PRELU_PRELU && act->sharing == PRELU_ALPHA_CHANNEL_WISE && act->channels == channels));
#else
    (void)act, (void)channels, (void)keeps_terms;
    return 0;
#endif
}

#if defined(PRELU_AVX512)
/* Lanes 8 to 15 of a vector (AVX-512F has no extract of eight floats). */
static inline __m256 upper_half(__m512 v) { return _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)); }

/* The backward's first pass over `count` consecutive rows, each step in registers where the blocks went through L1: x
 * normalised again (normalize_row's expression), the rectifier's gradient of dy in place (leaky_row_backward's, or
 * prelu_row_backward's with the alphas' sums `da` kept across the rows) and the four sums (add_rows_sums'): the same
 * operations in the same order, so the same bits. */
static void batchnorm_rectifier_rows(int channels, long count, const float *x, float *dy, const float *mean, const float *scale,
                                     const float *offset, const prelu_activation *act, const float *alpha, float *da, double *sums) {
    int prelu = act->kind == PRELU_PRELU;
    __m512 slope = _mm512_set1_ps(act->kind == PRELU_LEAKY_RELU ? act->parameter : 0.0f);
    for (int c0 = 0; c0 < channels; c0 += 32) {
        __m512 mu[2], sc[2], of[2], a[2], d_alpha[2];
        group_sums terms;
        for (int h = 0; h < 2; h++) {
            int c = c0 + 16 * h;
            mu[h] = _mm512_loadu_ps(mean + c), sc[h] = _mm512_loadu_ps(scale + c), of[h] = _mm512_loadu_ps(offset + c);
            a[h] = prelu ? _mm512_loadu_ps(alpha + c) : slope;
            d_alpha[h] = prelu ? _mm512_loadu_ps(da + c) : _mm512_setzero_ps();
        }
        group_sums_load(&terms, sums, channels, c0, 1);
        for (long r = 0; r < count; r++) {
            const float *row = x + r * channels + c0;
            float *g = dy + r * channels + c0;
            for (int h = 0; h < 2; h++) {
                __m512 xv = _mm512_loadu_ps(row + 16 * h), gv = _mm512_loadu_ps(g + 16 * h);
                __m512 z = _mm512_fmadd_ps(_mm512_sub_ps(xv, mu[h]), sc[h], of[h]);
                if (prelu) {
                    __mmask16 negative = _mm512_cmp_ps_mask(z, _mm512_setzero_ps(), _CMP_NGT_UQ);
                    d_alpha[h] = _mm512_mask_add_ps(d_alpha[h], negative, d_alpha[h], _mm512_mul_ps(z, gv));
                    gv = _mm512_mask_mul_ps(gv, negative, a[h], gv);
                } else {
                    gv = _mm512_mask_mov_ps(_mm512_mul_ps(a[h], gv), _mm512_cmp_ps_mask(z, _mm512_setzero_ps(), _CMP_GT_OQ), gv);
                }
                _mm512_storeu_ps(g + 16 * h, gv);
                group_sums_add8(&terms, 2 * h, _mm512_castps512_ps256(xv), _mm512_castps512_ps256(gv), 1);
                group_sums_add8(&terms, 2 * h + 1, upper_half(xv), upper_half(gv), 1);
            }
        }
        group_sums_store(&terms, sums, channels, c0, 1);
        if (prelu)
            for (int h = 0; h < 2; h++) _mm512_storeu_ps(da + c0 + 16 * h, d_alpha[h]);
    }
}
#elif defined(PRELU_AVX2)
/* The same for the AVX2 build, 8 channels at a time over blocks of rows that stay in L1 (group_sums): the same operations
 * in the same order as the passes through L1 (normalize_row's expression, prelu_row_backward's or leaky_row_backward's,
 * add_rows_sums'), so the same bits. */
static void batchnorm_rectifier_rows(int channels, long count, const float *x, float *dy, const float *mean, const float *scale,
                                     const float *offset, const prelu_activation *act, const float *alpha, float *da, double *sums) {
    int prelu = act->kind == PRELU_PRELU;
    const __m256 zero = _mm256_setzero_ps(), slope = _mm256_set1_ps(act->kind == PRELU_LEAKY_RELU ? act->parameter : 0.0f);
    long block = batchnorm_block_positions(channels);
    for (long r0 = 0; r0 < count; r0 += block) {
        long rows = count - r0 < block ? count - r0 : block;
        for (int c0 = 0; c0 < channels; c0 += 8) {
            __m256 mu = _mm256_loadu_ps(mean + c0), sc = _mm256_loadu_ps(scale + c0), of = _mm256_loadu_ps(offset + c0);
            __m256 a = prelu ? _mm256_loadu_ps(alpha + c0) : slope, d_alpha = prelu ? _mm256_loadu_ps(da + c0) : zero;
            group_sums terms;
            group_sums_load(&terms, sums, channels, c0, 1);
            for (long r = r0; r < r0 + rows; r++) {
                __m256 xv = _mm256_loadu_ps(x + r * channels + c0), gv = _mm256_loadu_ps(dy + r * channels + c0);
                __m256 z = _mm256_fmadd_ps(_mm256_sub_ps(xv, mu), sc, of);
                __m256 positive = _mm256_cmp_ps(z, zero, _CMP_GT_OQ);
                if (prelu) d_alpha = _mm256_add_ps(d_alpha, _mm256_blendv_ps(_mm256_mul_ps(z, gv), zero, positive));
                gv = _mm256_blendv_ps(_mm256_mul_ps(a, gv), gv, positive);
                _mm256_storeu_ps(dy + r * channels + c0, gv);
                group_sums_add8(&terms, 0, xv, gv, 1);
            }
            group_sums_store(&terms, sums, channels, c0, 1);
            if (prelu) _mm256_storeu_ps(da + c0, d_alpha);
        }
    }
}
#else
static void batchnorm_rectifier_rows(int channels, long count, const float *x, float *dy, const float *mean, const float *scale,
                                     const float *offset, const prelu_activation *act, const float *alpha, float *da, double *sums) {
    (void)channels, (void)count, (void)x, (void)dy, (void)mean, (void)scale, (void)offset, (void)act, (void)alpha, (void)da, (void)sums;
}
#endif

/* dy: dL/dy in, dL/dx out (x the normalisation's input). z: the forward's workspace. dgamma, dbeta, dalpha may be NULL. */
static void batchnorm_activation_backward(int32_t batch, int32_t positions, int32_t channels, float epsilon, const float *x,
                                          const float *gamma, const prelu_activation *act, const float *alpha, const float *z,
                                          float *dy, float *dgamma, float *dbeta, float *dalpha) {
    long rows = (long)batch * positions, sample = (long)positions * channels;
    int linear = act->kind == PRELU_LINEAR, alpha_length = act->kind == PRELU_PRELU ? act->alpha_length : 0;
    int keeps_terms = !linear && batchnorm_keeps_terms(rows), in_registers = batchnorm_rows_in_registers(act, channels, keeps_terms);
    long per_block = keeps_terms ? batchnorm_block_positions(channels) : positions;
    const float *mean = z, *scale = z + channels, *offset = z + 2L * channels; /* where keeps_terms */
    int threads = prelu_thread_count();
    /* Per thread: the four sums of channel_sums in double (two floats each), then the alphas' sums; an even count of floats
     * keeps the next thread's doubles aligned. */
    long sums_floats = 8L * channels, per_thread = sums_floats + ((alpha_length + 2) & ~1L);
    float *partials = thread_partials(threads, per_thread);
#pragma omp parallel num_threads(threads)
    {
        float *mine = partials + (long)omp_get_thread_num() * per_thread, *da = mine + sums_floats;
        float *block = keeps_terms && !in_registers ? prelu_scratch(PRELU_SCRATCH_DCOLUMNS, (size_t)per_block * channels) : NULL;
#pragma omp for schedule(static)
        for (int n = 0; n < batch; n++) {
            if (in_registers) {
                batchnorm_rectifier_rows(channels, positions, x + n * sample, dy + n * sample, mean, scale, offset, act, alpha, da,
                                         (double *)mine);
                continue;
            }
            for (long p0 = 0; p0 < positions; p0 += per_block) {
                long count = positions - p0 < per_block ? positions - p0 : per_block, at = n * sample + p0 * channels;
                float *g = dy + at;
                if (keeps_terms) normalize_block(channels, x + n * sample, p0, count, mean, scale, offset, block);
                if (!linear) activate_backward(act, alpha, (int)(p0 * channels), (int)(count * channels), keeps_terms ? block : z + at, g, da);
                add_rows_sums(channels, count, x + at, g, (double *)mine);
            }
        }
    }
    add_thread_partials(dalpha, partials, threads, per_thread, sums_floats, alpha_length);
    double *work;
    float *statistics = batchnorm_scratch(channels, &work);
    add_double_partials(work, (const double *)partials, threads, per_thread / 2, 4L * channels);
    batchnorm_backward_from_sums(rows, channels, epsilon, x, gamma, work, statistics, dy, dy, dgamma, dbeta);
}

/* In evaluation, the convolution, the normalisation of its output by the moving statistics and the activation as one
 * convolution: kernel[.., f] scale[f] and (bias[f] - mean[f]) scale[f] + offset[f], the activation its epilogue. */
static void conv2d_batchnorm_inference(const prelu_conv2d_shape *s, const prelu_activation *act, const float *input, const float *kernel,
                                       const float *bias, const float *gamma, const float *beta, const float *moving_mean,
                                       const float *moving_variance, float epsilon, const float *alpha, float *z, float *y) {
    int filters = s->filters;
    long taps = (long)s->kernel_h * s->kernel_w * s->in_channels;
    float *folded = prelu_scratch(PRELU_SCRATCH_FOLDED, (size_t)(taps + 3) * filters), *folded_bias = folded + taps * filters;
    float *scale = folded_bias + filters, *offset = scale + filters;
    batchnorm_scale_offset(filters, epsilon, gamma, beta, moving_variance, scale, offset);
    for (int f = 0; f < filters; f++) folded_bias[f] = ((bias ? bias[f] : 0.0f) - moving_mean[f]) * scale[f] + offset[f];
    for (long t = 0; t < taps; t++)
        for (int f = 0; f < filters; f++) folded[t * filters + f] = kernel[t * filters + f] * scale[f];
    conv2d_pool_forward(s, act, NULL, input, folded, folded_bias, alpha, z, y, NULL, NULL);
}
