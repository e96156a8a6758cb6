/* batchnorm.h: batch normalisation over the last axis, x seen as (rows, channels), forward and backward, two passes over
 * the tensor each way: the channels' sums in one (x and x^2 forward; x, x^2, dy and dy x backward), then the output or
 * the input gradient. The sums are taken in double, per thread over a static range of rows, and added in thread order:
 * the same bits on every run. The variance is E[x^2] - mean^2 and the reductions of the gradient are formed from the
 * sums, where Prelu.Reference.BatchNormalization takes a second pass about the mean: the same values to within float
 * rounding (the conformance and agreement suites hold it to the reference's tolerances). */

/* Each channel's sums over the rows, in one pass: sums[c] of x, sums[C + c] of x^2, and with dy, sums[2C + c] of dy and
 * sums[3C + c] of dy x. `work` holds (dy ? 4 : 2) x channels doubles. */
static void channel_sums(long rows, int channels, const float *x, const float *dy, double *sums) {
    int threads = prelu_thread_count(), kinds = dy ? 4 : 2;
    long per_thread = (long)kinds * channels;
    double *partials = (double *)thread_partials(threads, 2 * per_thread); /* a double is two floats */
#pragma omp parallel num_threads(threads)
    {
        double *sum = partials + (long)omp_get_thread_num() * per_thread, *squares = sum + channels;
        double *sum_dy = squares + channels, *sum_dy_x = sum_dy + channels;
#pragma omp for schedule(static)
        for (long r = 0; r < rows; r++) {
            const float *row = x + r * channels;
            if (dy) {
                const float *g = dy + r * channels;
#pragma omp simd
                for (int c = 0; c < channels; c++) {
                    double v = row[c], d = g[c];
                    sum[c] += v;
                    squares[c] += v * v;
                    sum_dy[c] += d;
                    sum_dy_x[c] += d * v;
                }
            } else {
#pragma omp simd
                for (int c = 0; c < channels; c++) {
                    double v = row[c];
                    sum[c] += v;
                    squares[c] += v * v;
                }
            }
        }
    }
    for (long i = 0; i < per_thread; i++) sums[i] = partials[i];
    for (int t = 1; t < threads; t++)
        for (long i = 0; i < per_thread; i++) sums[i] += partials[(long)t * per_thread + i];
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

static void batchnorm_forward(int32_t rows, int32_t channels, int32_t training, float momentum, float epsilon, const float *x,
                              const float *gamma, const float *beta, float *moving_mean, float *moving_variance, float *y) {
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
    for (int c = 0; c < channels; c++) {
        scale[c] = (gamma ? gamma[c] : 1.0f) / sqrtf(variance[c] + epsilon);
        offset[c] = beta ? beta[c] : 0.0f;
    }
#pragma omp parallel for schedule(static) num_threads(prelu_thread_count())
    for (long r = 0; r < rows; r++) {
        const float *in = x + r * channels;
        float *out = y + r * channels;
#pragma omp simd
        for (int c = 0; c < channels; c++) out[c] = (in[c] - mean[c]) * scale[c] + offset[c];
    }
}

/* dbeta = sum dy, dgamma = sum dy xhat, dx = gamma / sqrt(var + eps) (dy - dbeta / M - xhat dgamma / M). */
static void batchnorm_backward(int32_t rows, int32_t channels, float epsilon, const float *x, const float *gamma, const float *dy,
                               float *dx, float *dgamma, float *dbeta) {
    double *work;
    float *mean = batchnorm_scratch(channels, &work), *variance = mean + channels;
    float *inverse = variance + channels, *sums = inverse + channels; /* sums: dbeta then dgamma, 2 x channels */
    /* One pass for the statistics and the two reductions: sum dy, and sum dy xhat = (sum dy x - mean sum dy) / sigma. */
    channel_sums(rows, channels, x, dy, work);
    batch_statistics(rows, channels, work, mean, variance);
    float m = (float)rows;
    float *scale = sums + 2L * channels, *beta_term = scale + channels, *gamma_term = beta_term + channels;
    for (int c = 0; c < channels; c++) {
        inverse[c] = 1.0f / sqrtf(variance[c] + epsilon);
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
