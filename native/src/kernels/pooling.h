/* pooling.h: max and average pooling, forward and backward. Pooling works on one output position at a time with the
 * channels innermost (NHWC keeps them contiguous), so every loop runs over contiguous floats. Ties go to
 * the first window position. */

/* The offsets, in floats from the image's start, of the inputs of output (oy, ox)'s window that lie inside the
 * image, in window order; returns how many (up to KH x KW). */
static inline int window_offsets(const prelu_conv2d_shape *s, int oy, int ox, int32_t *offsets) {
    int count = 0;
    for (int py = 0; py < s->kernel_h; py++) {
        int iy = oy * s->stride_y - s->pad_top + py;
        if (iy < 0 || iy >= s->height) continue;
        for (int px = 0; px < s->kernel_w; px++) {
            int ix = ox * s->stride_x - s->pad_left + px;
            if (ix < 0 || ix >= s->width) continue;
            offsets[count++] = (iy * s->width + ix) * s->in_channels;
        }
    }
    return count;
}

/* The usual pooling, 2x2 windows of stride 2 without padding, in registers (the AVX-512 and AVX2 builds, vector.h): the
 * general loops below spent about half their time finding each window's inputs and passing the channels through scratch
 * rows. Same comparisons, same ties (to the first window position), so the same bits. */
static inline int maxpool_is_2x2(const prelu_conv2d_shape *s) {
#if defined(PRELU_AVX2)
    return s->kernel_h == 2 && s->kernel_w == 2 && s->stride_y == 2 && s->stride_x == 2 && s->pad_top == 0 && s->pad_left == 0 &&
           2 * s->out_h <= s->height && 2 * s->out_w <= s->width;
#else
    (void)s;
    return 0;
#endif
}

#if defined(PRELU_AVX2)
/* One vector of channels (mask m; `whole`, a constant in each expansion: all its lanes) of one window's four inputs. */
static inline __attribute__((always_inline)) void maxpool_2x2_vector(const int whole, vmask m, const float *const in[4], float *out) {
    vfloat best = vload_whole(whole, m, in[0]);
    for (int k = 1; k < 4; k++) {
        vfloat v = vload_whole(whole, m, in[k]);
        best = vselect(vgreater(v, best), v, best);
    }
    vstore_whole(whole, out, m, best);
}

static void maxpool_image_2x2(const prelu_conv2d_shape *s, const float *image, float *out_image) {
    int ch = s->in_channels;
    long line = (long)s->width * ch;
    for (int oy = 0; oy < s->out_h; oy++)
        for (int ox = 0; ox < s->out_w; ox++) {
            const float *in = image + 2L * oy * line + 2L * ox * ch;
            float *out = out_image + ((long)oy * s->out_w + ox) * ch;
            for (int c = 0; c < ch; c += VL) {
                const float *place[4] = {in + c, in + ch + c, in + line + c, in + line + ch + c};
                if (c + VL <= ch)
                    maxpool_2x2_vector(1, vmask_lanes(VL), place, out + c);
                else
                    maxpool_2x2_vector(0, vmask_lanes(ch - c), place, out + c);
            }
        }
}

/* One vector of channels (as maxpool_2x2_vector) of one window's gradient: g to the first maximum's place, zeros to the
 * others. */
static inline __attribute__((always_inline)) void maxpool_2x2_vector_backward(const int whole, vmask m, const float *const in[4],
                                                                               const float *g, float *const dx[4]) {
    vmask won[4];
    vfloat best = vload_whole(whole, m, in[0]);
    won[0] = m;
    for (int k = 1; k < 4; k++) {
        vfloat v = vload_whole(whole, m, in[k]);
        won[k] = vmask_and(m, vgreater(v, best));
        best = vselect(won[k], v, best);
        /* A later, larger value takes the window from the places before it. */
        for (int j = 0; j < k; j++) won[j] = vmask_but(won[j], won[k]);
    }
    vfloat gc = vload_whole(whole, m, g);
    for (int k = 0; k < 4; k++) vstore_whole(whole, dx[k], m, vselect(won[k], gc, vzero()));
}

/* Each window's gradient to its first maximum, zeros to the rest of the window (and to the rows and columns no window
 * covers). */
static void maxpool_image_backward_2x2(const prelu_conv2d_shape *s, const float *image, const float *dy_image, float *dimage) {
    int ch = s->in_channels;
    long line = (long)s->width * ch;
    if (2 * s->out_h != s->height || 2 * s->out_w != s->width) memset(dimage, 0, (size_t)s->height * line * sizeof(float));
    for (int oy = 0; oy < s->out_h; oy++)
        for (int ox = 0; ox < s->out_w; ox++) {
            long corner = 2L * oy * line + 2L * ox * ch, place[4] = {corner, corner + ch, corner + line, corner + line + ch};
            const float *g = dy_image + ((long)oy * s->out_w + ox) * ch;
            for (int c = 0; c < ch; c += VL) {
                const float *in[4] = {image + place[0] + c, image + place[1] + c, image + place[2] + c, image + place[3] + c};
                float *dx[4] = {dimage + place[0] + c, dimage + place[1] + c, dimage + place[2] + c, dimage + place[3] + c};
                if (c + VL <= ch)
                    maxpool_2x2_vector_backward(1, vmask_lanes(VL), in, g + c, dx);
                else
                    maxpool_2x2_vector_backward(0, vmask_lanes(ch - c), in, g + c, dx);
            }
        }
}
#else
static void maxpool_image_2x2(const prelu_conv2d_shape *s, const float *image, float *out_image) { (void)s, (void)image, (void)out_image; }
static void maxpool_image_backward_2x2(const prelu_conv2d_shape *s, const float *image, const float *dy_image, float *dimage) {
    (void)s, (void)image, (void)dy_image, (void)dimage;
}
#endif

/* One image's max pooling: image (H, W, C) -> out (OH, OW, C). */
static void maxpool_image(const prelu_conv2d_shape *s, const float *image, float *out_image) {
    if (maxpool_is_2x2(s)) {
        maxpool_image_2x2(s, image, out_image);
        return;
    }
    int ch = s->in_channels;
    int32_t offsets[s->kernel_h * s->kernel_w];
    for (int oy = 0; oy < s->out_h; oy++)
        for (int ox = 0; ox < s->out_w; ox++) {
            float *out = out_image + ((long)oy * s->out_w + ox) * ch;
            int count = window_offsets(s, oy, ox, offsets);
            if (count == 0) continue; /* a window wholly in the padding: Keras's shapes never make one */
            for (int c = 0; c < ch; c++) out[c] = image[offsets[0] + c];
            for (int k = 1; k < count; k++) {
                const float *in = image + offsets[k];
#pragma omp simd
                for (int c = 0; c < ch; c++) out[c] = in[c] > out[c] ? in[c] : out[c];
            }
        }
}

static void maxpool2d_forward(const prelu_conv2d_shape *s, const float *input, float *y) {
    long in_size = (long)s->height * s->width * s->in_channels, out_size = (long)s->out_h * s->out_w * s->in_channels;
#pragma omp parallel for schedule(static) num_threads(prelu_thread_count())
    for (int n = 0; n < s->batch; n++) maxpool_image(s, input + n * in_size, y + n * out_size);
}

/* One image's gradient: each window's gradient goes to its first maximum. Where windows do not overlap (stride >=
 * pool size, the usual case), each input belongs to at most one window, so the gradient is written straight into
 * place (the winner gets dy, the rest of the window 0) instead of zeroing the whole gradient and scattering into it. */
static void maxpool_image_backward(const prelu_conv2d_shape *s, const float *image, const float *dy_image, float *dimage) {
    if (maxpool_is_2x2(s)) {
        maxpool_image_backward_2x2(s, image, dy_image, dimage);
        return;
    }
    int ch = s->in_channels;
    long in_size = (long)s->height * s->width * ch;
    int disjoint = s->stride_y >= s->kernel_h && s->stride_x >= s->kernel_w;
    /* Windows that tile the image exactly write every input; otherwise the inputs no window covers need zeros. */
    int covered = s->pad_top == 0 && s->pad_left == 0 && s->stride_y == s->kernel_h && s->stride_x == s->kernel_w &&
                  s->out_h * s->stride_y == s->height && s->out_w * s->stride_x == s->width;
    if (!covered) memset(dimage, 0, (size_t)in_size * sizeof(float));
    float *best = prelu_scratch(PRELU_SCRATCH_POOLING, (size_t)2 * ch);
    int32_t *where = (int32_t *)(best + ch);
    int32_t offsets[s->kernel_h * s->kernel_w];
    for (int oy = 0; oy < s->out_h; oy++)
        for (int ox = 0; ox < s->out_w; ox++) {
            int count = window_offsets(s, oy, ox, offsets);
            if (count == 0) continue;
            for (int c = 0; c < ch; c++) {
                best[c] = image[offsets[0] + c];
                where[c] = offsets[0];
            }
            for (int k = 1; k < count; k++) {
                const float *in = image + offsets[k];
                int32_t offset = offsets[k];
#pragma omp simd
                for (int c = 0; c < ch; c++) {
                    int better = in[c] > best[c];
                    best[c] = better ? in[c] : best[c];
                    where[c] = better ? offset : where[c];
                }
            }
            const float *g = dy_image + ((long)oy * s->out_w + ox) * ch;
            if (!disjoint) {
                for (int c = 0; c < ch; c++) dimage[where[c] + c] += g[c];
                continue;
            }
            for (int k = 0; k < count; k++) {
                float *d = dimage + offsets[k];
                int32_t offset = offsets[k];
#pragma omp simd
                for (int c = 0; c < ch; c++) d[c] = where[c] == offset ? g[c] : 0.0f;
            }
        }
}

static void maxpool2d_backward(const prelu_conv2d_shape *s, const float *input, const float *dy, float *dx) {
    long in_size = (long)s->height * s->width * s->in_channels, out_size = (long)s->out_h * s->out_w * s->in_channels;
#pragma omp parallel for schedule(static) num_threads(prelu_thread_count())
    for (int n = 0; n < s->batch; n++) maxpool_image_backward(s, input + n * in_size, dy + n * out_size, dx + n * in_size);
}

/* Average pooling: each window's mean over its positions inside the image (padding is not counted, as in Keras),
 * summed in window order as the reference sums it. */
static void avgpool2d_forward(const prelu_conv2d_shape *s, const float *input, float *y) {
    int ch = s->in_channels;
    long in_size = (long)s->height * s->width * ch, out_size = (long)s->out_h * s->out_w * ch;
#pragma omp parallel for schedule(static) num_threads(prelu_thread_count())
    for (int n = 0; n < s->batch; n++) {
        const float *image = input + n * in_size;
        int32_t offsets[s->kernel_h * s->kernel_w];
        for (int oy = 0; oy < s->out_h; oy++)
            for (int ox = 0; ox < s->out_w; ox++) {
                float *out = y + n * out_size + ((long)oy * s->out_w + ox) * ch;
                int count = window_offsets(s, oy, ox, offsets);
                for (int c = 0; c < ch; c++) out[c] = 0.0f;
                for (int k = 0; k < count; k++) {
                    const float *in = image + offsets[k];
#pragma omp simd
                    for (int c = 0; c < ch; c++) out[c] += in[c];
                }
                float divisor = (float)count;
                for (int c = 0; c < ch; c++) out[c] /= divisor;
            }
    }
}

/* Each window's gradient, divided by its count, added to each of its positions (in output order, per image). */
static void avgpool2d_backward(const prelu_conv2d_shape *s, const float *dy, float *dx) {
    int ch = s->in_channels;
    long in_size = (long)s->height * s->width * ch, out_size = (long)s->out_h * s->out_w * ch;
#pragma omp parallel for schedule(static) num_threads(prelu_thread_count())
    for (int n = 0; n < s->batch; n++) {
        float *dimage = dx + n * in_size;
        memset(dimage, 0, (size_t)in_size * sizeof(float));
        int32_t offsets[s->kernel_h * s->kernel_w];
        for (int oy = 0; oy < s->out_h; oy++)
            for (int ox = 0; ox < s->out_w; ox++) {
                const float *g = dy + n * out_size + ((long)oy * s->out_w + ox) * ch;
                int count = window_offsets(s, oy, ox, offsets);
                float divisor = (float)count;
                for (int k = 0; k < count; k++) {
                    float *d = dimage + offsets[k];
#pragma omp simd
                    for (int c = 0; c < ch; c++) d[c] += g[c] / divisor;
                }
            }
    }
}
