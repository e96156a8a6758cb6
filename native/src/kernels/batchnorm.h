/* batchnorm.h: batch normalisation over the last axis, x seen as (rows, channels), forward and backward. Each
 * channel's sums over the rows are taken in double, per thread over a static range of rows, and added in thread
 * order: the same bits on every run. The arithmetic on floats follows Prelu.Reference.BatchNormalization. */

/* sums[c] = the sum over rows of x[r, c], or with center of (x[r, c] - center[c])^2. */
static void channel_sums(long rows, int channels, const float *x, const double *center, double *sums) {
    int threads = prelu_thread_count();
    double *partials = (double *)thread_partials(threads, 2L * channels); /* a double is two floats */
#pragma omp parallel num_threads(threads)
    {
        double *mine = partials + (long)omp_get_thread_num() * channels;
#pragma omp for schedule(static)
        for (long r = 0; r < rows; r++) {
            const float *row = x + r * channels;
            if (center) {
                for (int c = 0; c < channels; c++) {
                    double d = (double)row[c] - center[c];
                    mine[c] += d * d;
                }
            } else {
                for (int c = 0; c < channels; c++) mine[c] += row[c];
            }
        }
    }
    for (int c = 0; c < channels; c++) sums[c] = partials[c];
    for (int t = 1; t < threads; t++)
        for (int c = 0; c < channels; c++) sums[c] += partials[(long)t * channels + c];
}

/* Each channel's batch mean and biased variance, in float as the reference rounds them; `work` holds 2 x channels doubles. */
static void batch_statistics(long rows, int channels, const float *x, double *work, float *mean, float *variance) {
    double *sums = work, *squares = work + channels;
    channel_sums(rows, channels, x, NULL, sums);
    for (int c = 0; c < channels; c++) sums[c] /= (double)rows;
    channel_sums(rows, channels, x, sums, squares);
    for (int c = 0; c < channels; c++) {
        mean[c] = (float)sums[c];
        variance[c] = (float)(squares[c] / (double)rows);
    }
}

/* The statistics' scratch: 2 x channels doubles of work, then room for five rows of channels floats (mean, variance,
 * and three more). */
static float *batchnorm_scratch(int channels, double **work) {
    float *scratch = prelu_scratch(PRELU_SCRATCH_COLUMNS, (size_t)9 * channels);
    *work = (double *)scratch;
    return scratch + 4L * channels;
}

static void batchnorm_forward(int32_t rows, int32_t channels, int32_t training, float momentum, float epsilon, const float *x,
                              const float *gamma, const float *beta, float *moving_mean, float *moving_variance, float *y) {
    double *work;
    float *mean = batchnorm_scratch(channels, &work), *variance = mean + channels;
    float *scale = variance + channels, *offset = scale + channels;
    if (training) {
        batch_statistics(rows, channels, x, work, mean, variance);
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
    batch_statistics(rows, channels, x, work, mean, variance);
    for (int c = 0; c < channels; c++) inverse[c] = 1.0f / sqrtf(variance[c] + epsilon);

    int threads = prelu_thread_count();
    double *partials = (double *)thread_partials(threads, 4L * channels); /* per thread: sum dy, sum dy xhat */
#pragma omp parallel num_threads(threads)
    {
        double *sum_dy = partials + (long)omp_get_thread_num() * 2 * channels, *sum_dy_xhat = sum_dy + channels;
#pragma omp for schedule(static)
        for (long r = 0; r < rows; r++) {
            const float *in = x + r * channels, *g = dy + r * channels;
            for (int c = 0; c < channels; c++) {
                sum_dy[c] += g[c];
                sum_dy_xhat[c] += g[c] * ((in[c] - mean[c]) * inverse[c]);
            }
        }
    }
    for (int c = 0; c < 2 * channels; c++) {
        double total = partials[c];
        for (int t = 1; t < threads; t++) total += partials[(long)t * 2 * channels + c];
        sums[c] = (float)total;
    }
    const float *dbeta_sums = sums, *dgamma_sums = sums + channels;
    if (dbeta) memcpy(dbeta, dbeta_sums, (size_t)channels * sizeof(float));
    if (dgamma) memcpy(dgamma, dgamma_sums, (size_t)channels * sizeof(float));
    if (!dx) return;
    float m = (float)rows;
#pragma omp parallel for schedule(static) num_threads(prelu_thread_count())
    for (long r = 0; r < rows; r++) {
        const float *in = x + r * channels, *g = dy + r * channels;
        float *out = dx + r * channels;
        for (int c = 0; c < channels; c++) {
            float scale = (gamma ? gamma[c] : 1.0f) * inverse[c];
            float xhat = (in[c] - mean[c]) * inverse[c];
            out[c] = scale * (g[c] - dbeta_sums[c] / m - xhat * dgamma_sums[c] / m);
        }
    }
}
