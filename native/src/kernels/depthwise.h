/* depthwise.h: a depthwise convolution (+ bias + activation), forward and backward side by side (Keras's
 * DepthwiseConv2D): input channel c convolved with its own M kernels into output channels c M .. c M + M - 1;
 * s->filters is C x M, the kernel (KH, KW, C, M). Each output position is a row of C M floats, computed as a
 * weighted sum of the input rows under the window (the multiply-adds of one row vectorise over the channels).
 * Positions are split between the threads; the sums backward needs (bias, alpha, kernel) are per thread and added
 * in thread order, so every run gives the same bits. */

/* out (C M) += x (C), each channel spread over its M outputs, times w (C M). */
static inline void depthwise_row(int channels, int m, const float *restrict x, const float *restrict w, float *restrict out) {
    if (m == 1) {
        for (int c = 0; c < channels; c++) out[c] += x[c] * w[c];
        return;
    }
    for (int c = 0; c < channels; c++)
        for (int j = 0; j < m; j++) out[c * m + j] += x[c] * w[c * m + j];
}

/* A multiply-add per output channel for each (output position, tap) inside the input. */
static inline int64_t depthwise_flops(const prelu_conv2d_shape *s) {
    return 2 * (int64_t)s->batch * s->filters * taps_inside(s->height, s->out_h, s->kernel_h, s->stride_y, s->pad_top) *
           taps_inside(s->width, s->out_w, s->kernel_w, s->stride_x, s->pad_left);
}

static void depthwise_forward(const prelu_conv2d_shape *s, const prelu_activation *act, const float *input, const float *kernel,
                              const float *bias, const float *alpha, float *z, float *y) {
    const int oc = s->filters, channels = s->in_channels, m = oc / channels;
    const long positions = (long)s->out_h * s->out_w;
    float *out = act->kind == PRELU_LINEAR ? y : z;
    prelu_count_flops(depthwise_flops(s));
#pragma omp parallel for schedule(static) num_threads(prelu_thread_count())
    for (long p = 0; p < (long)s->batch * positions; p++) {
        long n = p / positions, at = p % positions;
        int oy = (int)(at / s->out_w), ox = (int)(at % s->out_w);
        float *o = out + p * oc;
        memset(o, 0, (size_t)oc * sizeof(float));
        for (int ky = 0; ky < s->kernel_h; ky++) {
            int iy = oy * s->stride_y - s->pad_top + ky;
            if (iy < 0 || iy >= s->height) continue;
            for (int kx = 0; kx < s->kernel_w; kx++) {
                int ix = ox * s->stride_x - s->pad_left + kx;
                if (ix < 0 || ix >= s->width) continue;
                depthwise_row(channels, m, input + ((n * s->height + iy) * s->width + ix) * channels,
                              kernel + ((long)ky * s->kernel_w + kx) * oc, o);
            }
        }
        bias_activate(act, alpha, bias, (int)(at * oc), oc, o, y + p * oc);
    }
}

/* dy (N, OH, OW, C M) becomes dL/dz; -> dx (N, H, W, C) or NULL, dkernel (KH, KW, C, M), dbias or NULL, dalpha or NULL. */
static void depthwise_backward(const prelu_conv2d_shape *s, const prelu_activation *act, const float *input, const float *kernel,
                               const float *alpha, const float *z, float *dy, float *dx, float *dkernel, float *dbias, float *dalpha) {
    const int oc = s->filters, channels = s->in_channels, m = oc / channels;
    const long positions = (long)s->out_h * s->out_w, kd = (long)s->kernel_h * s->kernel_w * oc;
    const int threads = prelu_thread_count(), alpha_length = act->kind == PRELU_PRELU ? act->alpha_length : 0;
    const long per_thread = oc + alpha_length + kd;
    float *partials = thread_partials(threads, per_thread);
    prelu_count_flops(depthwise_flops(s) * (dx ? 2 : 1)); /* the kernel gradient, and the input gradient's as many */
#pragma omp parallel num_threads(threads)
    {
        float *db = partials + omp_get_thread_num() * per_thread, *da = db + oc, *dk = da + alpha_length;
#pragma omp for schedule(static)
        for (long p = 0; p < (long)s->batch * positions; p++) {
            long n = p / positions, at = p % positions;
            int oy = (int)(at / s->out_w), ox = (int)(at % s->out_w);
            float *g = dy + p * oc;
            bias_activate_backward(act, alpha, (int)(at * oc), oc, z ? z + p * oc : NULL, g, db, da);
            for (int ky = 0; ky < s->kernel_h; ky++) {
                int iy = oy * s->stride_y - s->pad_top + ky;
                if (iy < 0 || iy >= s->height) continue;
                for (int kx = 0; kx < s->kernel_w; kx++) {
                    int ix = ox * s->stride_x - s->pad_left + kx;
                    if (ix < 0 || ix >= s->width) continue;
                    /* dk (C M) += x (C) spread over M, times g (C M): the forward's row with g for the kernel */
                    depthwise_row(channels, m, input + ((n * s->height + iy) * s->width + ix) * channels, g,
                                  dk + ((long)ky * s->kernel_w + kx) * oc);
                }
            }
        }
    }
    add_thread_partials(dbias, partials, threads, per_thread, 0, oc);
    add_thread_partials(dalpha, partials, threads, per_thread, oc, alpha_length);
    add_thread_partials(dkernel, partials, threads, per_thread, oc + alpha_length, kd);
    if (!dx) return;
    /* The input gradient image by image (each thread writes only its own images): dx (C) += the sum over j of
     * g (c M + j) w (c M + j) for every output position whose window covers the input position. */
    const long image = (long)s->height * s->width * channels;
#pragma omp parallel for schedule(static) num_threads(threads)
    for (long n = 0; n < s->batch; n++) {
        float *dimage = dx + n * image;
        memset(dimage, 0, (size_t)image * sizeof(float));
        for (long at = 0; at < positions; at++) {
            int oy = (int)(at / s->out_w), ox = (int)(at % s->out_w);
            const float *g = dy + (n * positions + at) * oc;
            for (int ky = 0; ky < s->kernel_h; ky++) {
                int iy = oy * s->stride_y - s->pad_top + ky;
                if (iy < 0 || iy >= s->height) continue;
                for (int kx = 0; kx < s->kernel_w; kx++) {
                    int ix = ox * s->stride_x - s->pad_left + kx;
                    if (ix < 0 || ix >= s->width) continue;
                    const float *w = kernel + ((long)ky * s->kernel_w + kx) * oc;
                    float *d = dimage + ((long)iy * s->width + ix) * channels;
                    for (int c = 0; c < channels; c++) {
                        float sum = 0.0f;
                        for (int j = 0; j < m; j++) sum += g[c * m + j] * w[c * m + j];
                        d[c] += sum;
                    }
                }
            }
        }
    }
}
