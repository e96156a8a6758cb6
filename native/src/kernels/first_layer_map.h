/* first_layer_map.h: a first layer that is not pooled, its forward in registers (AVX-512 and AVX2; conv2d_forward takes it where
 * first_layer_map). A convolution whose window has at most 9 elements (a 3x3 kernel over one channel: a first layer of
 * 28 x 28 x 1 under a BatchNormalization, say) over at most 32 filters, any strides and padding: its product has K = 9,
 * where the GEMM's register blocks spend more on their tables, stores and edges than on multiply-adds, and a padded
 * input went through an im2col copy first. Here the kernel stays in registers (9 x 2 vectors), four positions at a
 * time, and the windows are read from the image copied once with its padding as zeros. The sums are the GEMM's, in
 * its order (from zero, kernel element by kernel element): the same bits as the general path. The kernel gradient
 * stays the GEMM's: a version in registers, 9 x 2 accumulators over the positions, measured slower (1.6 against 1.1 ms
 * for 28 x 28 x 1 -> 32, batch 250, 2 threads). */
static inline int first_layer_map(const prelu_conv2d_shape *s) {
#if defined(PRELU_AVX2)
    return s->kernel_h * s->kernel_w * s->in_channels <= 9 && s->filters <= 32;
#else
    (void)s;
    return 0;
#endif
}

/* Floats of an image with its padding (first_layer_padded). */
static inline size_t first_layer_padded_floats(const prelu_conv2d_shape *s) {
    return (size_t)((s->out_h - 1) * s->stride_y + s->kernel_h) * ((s->out_w - 1) * s->stride_x + s->kernel_w) * s->in_channels;
}

#if defined(PRELU_AVX2)
/* The rows and columns every window reads, the padding's as zeros: `image` copied into dst; returns its line (floats a
 * row). */
static long first_layer_padded(const prelu_conv2d_shape *s, const float *image, float *dst) {
    int rows = (s->out_h - 1) * s->stride_y + s->kernel_h, cols = (s->out_w - 1) * s->stride_x + s->kernel_w, cin = s->in_channels;
    long line = (long)cols * cin;
    for (int y = 0; y < rows; y++) {
        int iy = y - s->pad_top;
        for (int x = 0; x < cols; x++) {
            int ix = x - s->pad_left;
            int inside = iy >= 0 && iy < s->height && ix >= 0 && ix < s->width;
            for (int c = 0; c < cin; c++) dst[y * line + (long)x * cin + c] = inside ? image[((long)iy * s->width + ix) * cin + c] : 0.0f;
        }
    }
    return line;
}

/* Each kernel element's offset in the padded image from its window's top-left. */
static inline int first_layer_map_elements(const prelu_conv2d_shape *s, long line, long element[9]) {
    int k = 0;
    for (int ky = 0; ky < s->kernel_h; ky++)
        for (int kx = 0; kx < s->kernel_w; kx++)
            for (int ci = 0; ci < s->in_channels; ci++) element[k++] = ky * line + (long)kx * s->in_channels + ci;
    return k;
}

/* Filters [first, first + 2 VL) of one padded image's positions (the products, before bias and activation) into out
 * (positions x F): the kernel's 9 x 2 vectors held (AVX-512; AVX2's 16 registers read some back from the stack), four
 * positions at a time, eight chains of multiply-adds hiding the FMA's latency. The next position's window (oy, ox) is
 * counted along, not divided out. */
static void first_layer_map_filters(const prelu_conv2d_shape *s, int first, const float *kernel, const long element[9], int kd,
                                    const float *padded, long line, float *out) {
    int f = s->filters, m = s->out_h * s->out_w;
    vmask k0 = vmask_lanes(f - first), k1 = vmask_lanes(f - first - VL);
    int two = f - first > VL;
    vfloat w[9][2];
    for (int k = 0; k < kd; k++) {
        w[k][0] = vload(k0, kernel + (long)k * f + first);
        w[k][1] = vload(k1, kernel + (long)k * f + first + VL);
    }
    int oy = 0, ox = 0;
    for (int r0 = 0; r0 < m; r0 += 4) {
        int count = min_int(4, m - r0);
        const float *win[4];
        vfloat acc[4][2];
        for (int q = 0; q < 4; q++) {
            win[q] = padded + (long)oy * s->stride_y * line + (long)ox * s->stride_x * s->in_channels;
            acc[q][0] = acc[q][1] = vzero();
            if (q < count - 1 && ++ox == s->out_w) ox = 0, oy++;
        }
        if (++ox == s->out_w) ox = 0, oy++;
        for (int k = 0; k < kd; k++)
            for (int q = 0; q < 4; q++) {
                vfloat x = vset(win[q][element[k]]);
                acc[q][0] = vfmadd(x, w[k][0], acc[q][0]);
                acc[q][1] = vfmadd(x, w[k][1], acc[q][1]);
            }
        for (int q = 0; q < count; q++) {
            float *row = out + (long)(r0 + q) * f + first;
            vstore(row, k0, acc[q][0]);
            if (two) vstore(row + VL, k1, acc[q][1]);
        }
    }
}

/* The forward of `images` consecutive images: the products, before bias and activation, into out (positions x F). */
static void first_layer_map_forward(const prelu_conv2d_shape *s, int images, const float *input, const float *kernel, float *out,
                                    float *padded) {
    int f = s->filters, m = s->out_h * s->out_w;
    long in_size = (long)s->height * s->width * s->in_channels, element[9];
    long line = ((long)(s->out_w - 1) * s->stride_x + s->kernel_w) * s->in_channels;
    int kd = first_layer_map_elements(s, line, element);
    prelu_count_flops(2 * (int64_t)images * m * kd * f);
    for (int n = 0; n < images; n++) {
        first_layer_padded(s, input + n * in_size, padded);
        for (int first = 0; first < f; first += 2 * VL) first_layer_map_filters(s, first, kernel, element, kd, padded, line, out + (long)n * m * f);
    }
}

#else
static void first_layer_map_forward(const prelu_conv2d_shape *s, int images, const float *input, const float *kernel, float *out,
                                    float *padded) {
    (void)s, (void)images, (void)input, (void)kernel, (void)out, (void)padded;
}
#endif
