/* winograd4.h: Winograd's F(4x4, 3x3) for the input gradient of a 3x3 convolution of stride 1 (conv2d_backward), where
 * it does fewer products than winograd.h's F(2x2, 3x3). Each 4x4 tile of outputs comes from the 6x6 patch around it:
 *     z = A^T [ sum over channels of (G g G^T) .* (B^T d B) ] A
 * with Lavin and Gray's matrices for the points 0, 1, -1, 2, -2 and infinity:
 *     B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
 *     G   = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]
 *     A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
 * 36 products per tile, channel and filter for 16 outputs (2.25 each, against F(2x2)'s 4), and cheaper transforms per
 * output (a 6x6 patch serves 16 outputs where a 4x4 one serves 4). The price is rounding: on random data its largest
 * error is 3 to 7 millionths of a tile's largest output (F(2x2): 0.3 to 2), well inside the 1e-4 the conformance suites
 * hold a gradient to but close to the 1e-5 of a forward, which therefore stays on F(2x2). The order of every sum is
 * fixed by the shapes alone. The AVX-512 build only, as winograd.h. */

/* Whether F(4x4) does fewer products than F(2x2) for this convolution's map: 36 per 4x4 tile against 16 per 2x2 tile,
 * counting the tiles that hang over the map's edges. */
static inline int winograd4_pays(const prelu_conv2d_shape *s) {
    long tiles4 = (long)((s->out_h + 3) / 4) * ((s->out_w + 3) / 4), tiles2 = (long)((s->out_h + 1) / 2) * ((s->out_w + 1) / 2);
    return winograd_applies(s) && 36 * tiles4 < 16 * tiles2;
}

#if defined(PRELU_AVX512)
static inline size_t winograd4_kernel_stride(const prelu_conv2d_shape *s) { return packed_b_floats(s->in_channels, s->filters); }
static inline size_t winograd4_kernel_floats(const prelu_conv2d_shape *s) { return 36 * winograd4_kernel_stride(s); }
/* Per thread: V and M of one chunk of tiles. */
static inline size_t winograd4_chunk_floats(const prelu_conv2d_shape *s) {
    return (size_t)36 * WINOGRAD_TILES * (s->in_channels + s->filters);
}

/* Row i of G times a column (g0, g1, g2) of the kernel. */
static inline float winograd4_g_row(int i, float g0, float g1, float g2) {
    switch (i) {
    case 0: return 0.25f * g0;
    case 1: return -(g0 + g1 + g2) / 6.0f;
    case 2: return -(g0 - g1 + g2) / 6.0f;
    case 3: return g0 / 24.0f + g1 / 12.0f + g2 / 6.0f;
    case 4: return g0 / 24.0f - g1 / 12.0f + g2 / 6.0f;
    default: return g2;
    }
}

/* U = G g G^T of kernel (3, 3, Cin, F): the 36 matrices (Cin x F, packed for gemm_packed) shared out between the threads
 * of the enclosing parallel region, which wait for each other at its end. */
static void winograd4_kernel(const prelu_conv2d_shape *s, const float *kernel, float *u) {
    int cin = s->in_channels, f = s->filters;
    long per_element = (long)cin * f;
#pragma omp for schedule(static)
    for (int xi = 0; xi < 36; xi++) {
        int i = xi / 6, j = xi % 6;
        /* About 4 flops for a row of G times a column, 3 times, then 4 for the row of G G^T. */
        prelu_count_flops(per_element * 16);
        float *rows = prelu_scratch(PRELU_SCRATCH_PACKED_A, (size_t)per_element);
        for (long e = 0; e < per_element; e++) {
            float t[3];
            for (int b = 0; b < 3; b++) t[b] = winograd4_g_row(i, kernel[(0 * 3 + b) * per_element + e], kernel[(1 * 3 + b) * per_element + e],
                                                               kernel[(2 * 3 + b) * per_element + e]);
            rows[e] = winograd4_g_row(j, t[0], t[1], t[2]);
        }
        pack_b(cin, winograd_k_block(cin), f, view(rows, f, 1), u + xi * winograd4_kernel_stride(s));
    }
}

/* B^T d of six vectors (a column or a row of the patch), into r[0..5]. */
static inline __attribute__((always_inline)) void winograd4_input_1d(const __m512 d[6], __m512 r[6]) {
    const __m512 two = _mm512_set1_ps(2.0f), four = _mm512_set1_ps(4.0f), five = _mm512_set1_ps(5.0f);
    __m512 a = _mm512_fnmadd_ps(four, d[2], d[4]), b = _mm512_fnmadd_ps(four, d[1], d[3]);
    __m512 c = _mm512_sub_ps(d[4], d[2]), e = _mm512_mul_ps(two, _mm512_sub_ps(d[3], d[1]));
    r[0] = _mm512_fmadd_ps(four, d[0], _mm512_fnmadd_ps(five, d[2], d[4]));
    r[1] = _mm512_add_ps(a, b);
    r[2] = _mm512_sub_ps(a, b);
    r[3] = _mm512_add_ps(c, e);
    r[4] = _mm512_sub_ps(c, e);
    r[5] = _mm512_fmadd_ps(four, d[1], _mm512_fnmadd_ps(five, d[3], d[5]));
}

/* V = B^T d B of one tile into row `tile` of the 36 matrices at v (each tiles x Cin, `step` floats apart). The patch's
 * row i, column j is at image + corner + i line + j Cin; only its rows y0 to y1 - 1 and columns x0 to x1 - 1 lie inside
 * the map (zeros for the others, read through empty masks, as winograd_patch does). */
static inline void winograd4_patch(const float *image, long corner, long line, int cin, int y0, int y1, int x0, int x1, float *v, long step,
                                   int tile) {
    long place[36];
    uint64_t inside = 0;
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++) {
            int in = i >= y0 && i < y1 && j >= x0 && j < x1;
            inside |= (uint64_t)in << (i * 6 + j);
            place[i * 6 + j] = in ? corner + i * line + (long)j * cin : 0;
        }
    for (int c0 = 0; c0 < cin; c0 += 16) {
        __mmask16 m = lanes_mask(cin - c0);
        __m512 t[6][6]; /* t = B^T d: column j of d turned into column j of t */
        for (int j = 0; j < 6; j++) {
            __m512 d[6], r[6];
            for (int i = 0; i < 6; i++)
                d[i] = _mm512_maskz_loadu_ps((__mmask16)(-(int)((inside >> (i * 6 + j)) & 1)) & m, image + place[i * 6 + j] + c0);
            winograd4_input_1d(d, r);
            for (int i = 0; i < 6; i++) t[i][j] = r[i];
        }
        float *at = v + (long)tile * cin + c0;
        for (int i = 0; i < 6; i++) {
            __m512 r[6];
            winograd4_input_1d(t[i], r);
            for (int j = 0; j < 6; j++) _mm512_mask_storeu_ps(at + (i * 6 + j) * step, m, r[j]);
        }
    }
}

/* A^T m of six vectors, into y[0..3]. */
static inline __attribute__((always_inline)) void winograd4_output_1d(const __m512 m[6], __m512 y[4]) {
    const __m512 two = _mm512_set1_ps(2.0f), four = _mm512_set1_ps(4.0f), eight = _mm512_set1_ps(8.0f);
    __m512 p = _mm512_add_ps(m[1], m[2]), q = _mm512_sub_ps(m[1], m[2]), r = _mm512_add_ps(m[3], m[4]), w = _mm512_sub_ps(m[3], m[4]);
    y[0] = _mm512_add_ps(_mm512_add_ps(m[0], p), r);
    y[1] = _mm512_fmadd_ps(two, w, q);
    y[2] = _mm512_fmadd_ps(four, r, p);
    y[3] = _mm512_add_ps(_mm512_fmadd_ps(eight, w, q), m[5]);
}

/* z = A^T M A of tile `tile` (its row of the 36 M matrices, each `tiles` x F), written to out + at[dy * 4 + dx] for the
 * outputs inside the map (at >= 0). */
static inline void winograd4_outputs(const float *mats, int f, int tiles, int tile, float *out, const long at[16]) {
    long step = (long)tiles * f;
    for (int c0 = 0; c0 < f; c0 += 16) {
        __mmask16 k = lanes_mask(f - c0);
        const float *from = mats + (long)tile * f + c0;
        __m512 s[4][6]; /* s = A^T M: column j of M turned into column j of s */
        for (int j = 0; j < 6; j++) {
            __m512 col[6], y[4];
            for (int i = 0; i < 6; i++) col[i] = _mm512_maskz_loadu_ps(k, from + (i * 6 + j) * step);
            winograd4_output_1d(col, y);
            for (int i = 0; i < 4; i++) s[i][j] = y[i];
        }
        for (int dy = 0; dy < 4; dy++) {
            __m512 z[4];
            winograd4_output_1d(s[dy], z);
            for (int dx = 0; dx < 4; dx++)
                if (at[dy * 4 + dx] >= 0) _mm512_mask_storeu_ps(out + at[dy * 4 + dx] + c0, k, z[dx]);
        }
    }
}

/* A 6x6 patch's 36 transforms take about 12 flops per row or column of six: 144 per input channel; the outputs' 4 + 6
 * rows of six about 10 each: 100 per filter. */
#define WINOGRAD4_PATCH_FLOPS 144
#define WINOGRAD4_OUTPUT_FLOPS 100

/* winograd_images with F(4x4, 3x3): z (OH x OW x F) of `images` consecutive images, the tiles' patches starting at
 * (4 ty - pad_top, 4 tx - pad_left), the chunks of tiles running on from one image into the next. */
static void winograd4_images(const prelu_conv2d_shape *s, int images, const float *input, long in_size, const float *u, float *out,
                             long out_size, float *scratch) {
    int cin = s->in_channels, f = s->filters, tiles_x = (s->out_w + 3) / 4, tiles = ((s->out_h + 3) / 4) * tiles_x;
    int all = images * tiles;
    long line = (long)s->width * cin;
    float *v = scratch, *mats = scratch + (size_t)36 * WINOGRAD_TILES * cin;
    for (int t0 = 0; t0 < all; t0 += WINOGRAD_TILES) {
        int count = min_int(WINOGRAD_TILES, all - t0);
        for (int t = 0; t < count; t++) {
            int image = (t0 + t) / tiles, tile = (t0 + t) % tiles;
            int iy = tile / tiles_x * 4 - s->pad_top, ix = tile % tiles_x * 4 - s->pad_left;
            winograd4_patch(input + image * in_size, iy * line + (long)ix * cin, line, cin, max_int(0, -iy), min_int(6, s->height - iy),
                            max_int(0, -ix), min_int(6, s->width - ix), v, (long)WINOGRAD_TILES * cin, t);
        }
        prelu_count_flops((int64_t)WINOGRAD4_PATCH_FLOPS * count * cin + (int64_t)WINOGRAD4_OUTPUT_FLOPS * count * f);
        for (int xi = 0; xi < 36; xi++)
            gemm_packed(count, f, cin, view(v + (long)xi * WINOGRAD_TILES * cin, cin, 1), u + xi * winograd4_kernel_stride(s),
                        mats + (long)xi * WINOGRAD_TILES * f, f, 0);
        for (int t = 0; t < count; t++) {
            int image = (t0 + t) / tiles, tile = (t0 + t) % tiles;
            int oy = tile / tiles_x * 4, ox = tile % tiles_x * 4;
            long at[16];
            for (int q = 0; q < 16; q++) {
                int y = oy + q / 4, x = ox + q % 4;
                at[q] = y < s->out_h && x < s->out_w ? ((long)y * s->out_w + x) * f : -1;
            }
            winograd4_outputs(mats, f, WINOGRAD_TILES, t, out + image * out_size, at);
        }
    }
}
#else
/* The other builds never take this path (winograd_applies is 0); these keep their callers free of #if. */
static inline size_t winograd4_kernel_floats(const prelu_conv2d_shape *s) { (void)s; return 0; }
static inline size_t winograd4_chunk_floats(const prelu_conv2d_shape *s) { (void)s; return 0; }
static void winograd4_kernel(const prelu_conv2d_shape *s, const float *kernel, float *u) { (void)s, (void)kernel, (void)u; }
static void winograd4_images(const prelu_conv2d_shape *s, int images, const float *input, long in_size, const float *u, float *out,
                             long out_size, float *scratch) {
    (void)s, (void)images, (void)input, (void)in_size, (void)u, (void)out, (void)out_size, (void)scratch;
}
#endif
