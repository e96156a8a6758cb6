/* winograd4.h: Winograd's F(4x4, 3x3) for a 3x3 convolution of stride 1, forward (conv2d_forward, and the pooled
 * forward's quads of windows: winners_forward.h), input gradient and kernel gradient (conv2d_backward), wherever it
 * does fewer products than winograd.h's and winograd_gradient.h's F(2x2, 3x3). Each 4x4 tile of outputs comes from the
 * 6x6 patch around it:
 *     z = A^T [ sum over channels of (G g G^T) .* (B^T d B) ] A
 * with Lavin and Gray's matrices for the points 0, 1, -1, 2, -2 and infinity:
 *     B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
 *     G   = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]
 *     A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
 * 36 products per tile, channel and filter for 16 outputs (2.25 each, against F(2x2)'s 4), and cheaper transforms per
 * output (a 6x6 patch serves 16 outputs where a 4x4 one serves 4). The price is rounding: a forward's largest error is
 * 2 to 4 millionths of its largest output on random maps of 32 to 64 channels (F(2x2): 0.2 to 0.3), up to 1.1e-5 on the
 * agreement suite's random shapes, which hold the Winograd paths' forward to 3e-5 (Close.Winograd4Forward) and
 * gradients to 1e-4; a kernel gradient's over 5,000 tiles 1e-5 of its largest element (F(2x2): 0.7e-5). Computing U in
 * double was tried: no smaller error. The order of every sum is fixed by the shapes alone. The AVX-512 and AVX2 builds, as
 * winograd.h.
 * The kernel gradient goes through the transposes, as winograd_gradient.h's: for a tile's output gradient dz (4x4 per
 * filter), dM = A dz A^T, dU[xi] = sum over tiles of V[xi]^T dM[xi], and dg = G^T dU G. */

/* Whether F(4x4) does fewer products than F(2x2) for this convolution's map: 36 per 4x4 tile against 16 per 2x2 tile,
 * counting the tiles that hang over the map's edges. */
static inline int winograd4_pays(const prelu_conv2d_shape *s) {
    return winograd_applies(s) && 36L * winograd_map_tiles(s, 4) < 16L * winograd_map_tiles(s, 2);
}

/* A dz A^T's flops per filter (6 rows of 4 taking 10 each, then 6 of 4 taking 10), and G^T dU G's per channel and filter
 * (3 rows of 6 taking about 8 each, 6 times, then 3 times 3). */
#define WINOGRAD4_GRADIENT_TILE_FLOPS 120
#define WINOGRAD4_KERNEL_GRADIENT_FLOPS 180

/* Column a of G (row a of G^T) times six rows d[0..5] of n values, into out: G's column 0 is (1/4, -1/6, -1/6, 1/24,
 * 1/24, 0), column 1 (0, -1/6, 1/6, 1/12, -1/12, 0), column 2 (0, -1/6, -1/6, 1/6, 1/6, 1). A loop for each column, so that
 * each is vectorised. */
static inline void winograd4_g_columns(int a, const float *const d[6], float *restrict out, long n) {
    const float *restrict d0 = d[0], *restrict d1 = d[1], *restrict d2 = d[2], *restrict d3 = d[3], *restrict d4 = d[4], *restrict d5 = d[5];
    switch (a) {
    case 0:
        for (long e = 0; e < n; e++) out[e] = 0.25f * d0[e] - (d1[e] + d2[e]) / 6.0f + (d3[e] + d4[e]) / 24.0f;
        break;
    case 1:
        for (long e = 0; e < n; e++) out[e] = (d2[e] - d1[e]) / 6.0f + (d3[e] - d4[e]) / 12.0f;
        break;
    default:
        for (long e = 0; e < n; e++) out[e] = (d3[e] + d4[e] - d1[e] - d2[e]) / 6.0f + d5[e];
        break;
    }
}

#if defined(PRELU_AVX2)
static inline size_t winograd4_kernel_floats(const prelu_conv2d_shape *s) { return 36 * winograd_kernel_stride(s); }
/* Per thread: V and M of one chunk of tiles. */
static inline size_t winograd4_chunk_floats(const prelu_conv2d_shape *s) {
    return (size_t)36 * WINOGRAD_TILES * (s->in_channels + s->filters);
}

/* Row i of G times three rows (g0, g1, g2) of n values, into t: a loop for each row of G, so that each is vectorised (a
 * switch inside one loop kept the transform scalar: 4% of a 7x7x64 convolution's forward and backward). */
static inline void winograd4_g_rows(int i, const float *restrict g0, const float *restrict g1, const float *restrict g2, float *restrict t, long n) {
    switch (i) {
    case 0:
        for (long e = 0; e < n; e++) t[e] = 0.25f * g0[e];
        break;
    case 1:
        for (long e = 0; e < n; e++) t[e] = -(g0[e] + g1[e] + g2[e]) / 6.0f;
        break;
    case 2:
        for (long e = 0; e < n; e++) t[e] = -(g0[e] - g1[e] + g2[e]) / 6.0f;
        break;
    case 3:
        for (long e = 0; e < n; e++) t[e] = g0[e] / 24.0f + g1[e] / 12.0f + g2[e] / 6.0f;
        break;
    case 4:
        for (long e = 0; e < n; e++) t[e] = g0[e] / 24.0f - g1[e] / 12.0f + g2[e] / 6.0f;
        break;
    default:
        for (long e = 0; e < n; e++) t[e] = g2[e];
        break;
    }
}

/* U = G g G^T of kernel (3, 3, Cin, F): the 36 matrices (Cin x F, packed for gemm_packed), the six rows of G shared out
 * between the threads of the enclosing parallel region, which wait for each other at its end. */
static void winograd4_kernel(const prelu_conv2d_shape *s, const float *kernel, float *u) {
    int cin = s->in_channels, f = s->filters;
    long per_element = (long)cin * f;
#pragma omp for schedule(static)
    for (int i = 0; i < 6; i++) {
        /* About 4 flops for a row of G times a column, 3 times, then 4 for each row of G g G^T. */
        prelu_count_flops(per_element * 16 * 6);
        float *t = prelu_scratch(PRELU_SCRATCH_PACKED_A, 4 * (size_t)per_element), *rows = t + 3 * per_element;
        /* Row i of G g: its column b from the kernel's column b, (0, b), (1, b) and (2, b), three elements apart. */
        for (int b = 0; b < 3; b++)
            winograd4_g_rows(i, kernel + b * per_element, kernel + (3 + b) * per_element, kernel + (6 + b) * per_element, t + b * per_element,
                             per_element);
        for (int j = 0; j < 6; j++) {
            winograd4_g_rows(j, t, t + per_element, t + 2 * per_element, rows, per_element);
            pack_b(cin, winograd_k_block(cin), f, view(rows, f, 1), u + (i * 6 + j) * winograd_kernel_stride(s));
        }
    }
}

/* B^T d of six vectors (a column or a row of the patch), into r[0..5]. */
static inline __attribute__((always_inline)) void winograd4_input_1d(const vfloat d[6], vfloat r[6]) {
    const vfloat two = vset(2.0f), four = vset(4.0f), five = vset(5.0f);
    vfloat a = vfnmadd(four, d[2], d[4]), b = vfnmadd(four, d[1], d[3]);
    vfloat c = vsub(d[4], d[2]), e = vmul(two, vsub(d[3], d[1]));
    r[0] = vfmadd(four, d[0], vfnmadd(five, d[2], d[4]));
    r[1] = vadd(a, b);
    r[2] = vsub(a, b);
    r[3] = vadd(c, e);
    r[4] = vsub(c, e);
    r[5] = vfmadd(four, d[1], vfnmadd(five, d[3], d[5]));
}

/* B^T d B of VL channels from c0 (mask m) of one patch, whose place k is at image + place[k] (inside the map where bit k
 * of `inside` is set, zeros elsewhere), into `at` and the 35 rows `step` floats after it. `whole` (a constant in each
 * expansion): the patch lies inside the map and the vector inside the row, so plain loads and stores, with no mask to
 * make for each of the 36 places (on AVX2 a scalar bit turned into a vector each time). */
static inline __attribute__((always_inline)) void winograd4_patch_channels(const int whole, const float *image, const long place[36],
                                                                           uint64_t inside, int c0, vmask m, float *at, long step) {
    vfloat t[6][6]; /* t = B^T d: column j of d turned into column j of t */
    for (int j = 0; j < 6; j++) {
        vfloat d[6], r[6];
        for (int i = 0; i < 6; i++)
            d[i] = whole ? vloadu(image + place[i * 6 + j] + c0)
                         : vload(vmask_if((int)((inside >> (i * 6 + j)) & 1), m), image + place[i * 6 + j] + c0);
        winograd4_input_1d(d, r);
        for (int i = 0; i < 6; i++) t[i][j] = r[i];
    }
    for (int i = 0; i < 6; i++) {
        vfloat r[6];
        winograd4_input_1d(t[i], r);
        for (int j = 0; j < 6; j++) vstore_whole(whole, at + (i * 6 + j) * step, m, r[j]);
    }
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
    int all_inside = y0 == 0 && y1 == 6 && x0 == 0 && x1 == 6;
    for (int c0 = 0; c0 < cin; c0 += VL) {
        float *at = v + (long)tile * cin + c0;
        if (all_inside && c0 + VL <= cin)
            winograd4_patch_channels(1, image, place, inside, c0, vmask_lanes(VL), at, step);
        else
            winograd4_patch_channels(0, image, place, inside, c0, vmask_lanes(cin - c0), at, step);
    }
}

/* A^T m of six vectors, into y[0..3]. */
static inline __attribute__((always_inline)) void winograd4_output_1d(const vfloat m[6], vfloat y[4]) {
    const vfloat two = vset(2.0f), four = vset(4.0f), eight = vset(8.0f);
    vfloat p = vadd(m[1], m[2]), q = vsub(m[1], m[2]), r = vadd(m[3], m[4]), w = vsub(m[3], m[4]);
    y[0] = vadd(vadd(m[0], p), r);
    y[1] = vfmadd(two, w, q);
    y[2] = vfmadd(four, r, p);
    y[3] = vadd(vfmadd(eight, w, q), m[5]);
}

/* z = A^T M A of one tile for VL filters (mask k): `from` is the tile's first filter in M[0], `step` floats apart are
 * the 36 M[xi]; output (dy, dx) into z[dy * 4 + dx]. */
static inline __attribute__((always_inline)) void winograd4_tile_outputs(const float *from, long step, vmask k, vfloat z[16]) {
    vfloat s[4][6]; /* s = A^T M: column j of M turned into column j of s */
    for (int j = 0; j < 6; j++) {
        vfloat col[6], y[4];
        for (int i = 0; i < 6; i++) col[i] = vload(k, from + (i * 6 + j) * step);
        winograd4_output_1d(col, y);
        for (int i = 0; i < 4; i++) s[i][j] = y[i];
    }
    for (int dy = 0; dy < 4; dy++) winograd4_output_1d(s[dy], z + dy * 4);
}

/* z = A^T M A of one tile from its rows of M (winograd_tile_offset), written to out + at[dy * 4 + dx] for the outputs
 * inside the map (at >= 0). */
static inline void winograd4_outputs(const float *m, int f, float *out, const long at[16]) {
    for (int c0 = 0; c0 < f; c0 += VL) {
        vmask k = vmask_lanes(f - c0);
        vfloat z[16];
        winograd4_tile_outputs(m + c0, f, k, z);
        for (int q = 0; q < 16; q++)
            if (at[q] >= 0) vstore(out + at[q] + c0, k, z[q]);
    }
}

/* The patch of the tile whose outputs start at (oy, ox) of an image's map (it starts at (oy - pad_top, ox - pad_left) of
 * the input; zeros where it lies outside), into row `tile` of the 36 matrices at v, `step` floats apart. */
static inline void winograd4_map_patch(const prelu_conv2d_shape *s, const float *image, int oy, int ox, float *v, long step, int tile) {
    int cin = s->in_channels, iy = oy - s->pad_top, ix = ox - s->pad_left;
    long line = (long)s->width * cin;
    winograd4_patch(image, iy * line + (long)ix * cin, line, cin, max_int(0, -iy), min_int(6, s->height - iy), max_int(0, -ix),
                    min_int(6, s->width - ix), v, step, tile);
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
    float *v = scratch, *mats = scratch + (size_t)36 * WINOGRAD_TILES * cin;
    for (int t0 = 0; t0 < all; t0 += WINOGRAD_TILES) {
        int count = min_int(WINOGRAD_TILES, all - t0);
        for (int t = 0; t < count; t++) {
            int image = (t0 + t) / tiles, tile = (t0 + t) % tiles;
            winograd4_map_patch(s, input + image * in_size, tile / tiles_x * 4, tile % tiles_x * 4, v + winograd_tile_offset(36, cin, t), cin, 0);
        }
        prelu_count_flops((int64_t)WINOGRAD4_PATCH_FLOPS * count * cin + (int64_t)WINOGRAD4_OUTPUT_FLOPS * count * f);
        winograd_products(36, s, count, v, u, mats);
        for (int t = 0; t < count; t++) {
            int image = (t0 + t) / tiles, tile = (t0 + t) % tiles;
            int oy = tile / tiles_x * 4, ox = tile % tiles_x * 4;
            long at[16];
            for (int q = 0; q < 16; q++) {
                int y = oy + q / 4, x = ox + q % 4;
                at[q] = y < s->out_h && x < s->out_w ? ((long)y * s->out_w + x) * f : -1;
            }
            winograd4_outputs(mats + winograd_tile_offset(36, f, t), f, out + image * out_size, at);
        }
    }
}
/* ---- The kernel gradient ---------------------------------------------------------------------------------------------
 * A thread's chunk holds WINOGRAD4_GRADIENT_TILES tiles' V (36 matrices of tiles x Cin) and dM (36 of tiles x F): 64
 * tiles of 32 channels each way are 590 KB, which stays in a 1 MB L2 (winograd_gradient.h's 128 tiles would not). */
#define WINOGRAD4_GRADIENT_TILES 64

static inline long winograd4_gradient_stride(int channels) { return gradient_chunk_stride(WINOGRAD4_GRADIENT_TILES, channels); }
static inline size_t winograd4_gradient_chunk_floats(const prelu_conv2d_shape *s) {
    return gradient_chunk_floats(36, WINOGRAD4_GRADIENT_TILES, s);
}
static inline winograd_gradient_chunk winograd4_gradient_chunk_at(const prelu_conv2d_shape *s, float *scratch) {
    return gradient_chunk_at(36, WINOGRAD4_GRADIENT_TILES, s, scratch);
}

/* A thread's dU: 36 matrices of Cin x F. */
static inline long winograd4_gradient_floats(const prelu_conv2d_shape *s) { return 36L * s->in_channels * s->filters; }


/* A y of four vectors into r[0..5], A = A^T's transpose: (y0, y0 + y1 + y2 + y3, y0 - y1 + y2 - y3, y0 + 2 y1 + 4 y2 +
 * 8 y3, y0 - 2 y1 + 4 y2 - 8 y3, y3). */
static inline __attribute__((always_inline)) void winograd4_gradient_1d(const vfloat y[4], vfloat r[6]) {
    const vfloat two = vset(2.0f), four = vset(4.0f), eight = vset(8.0f);
    vfloat p = vadd(y[0], y[2]), q = vadd(y[1], y[3]);
    vfloat p4 = vfmadd(four, y[2], y[0]), q4 = vfmadd(eight, y[3], vmul(two, y[1]));
    r[0] = y[0];
    r[1] = vadd(p, q);
    r[2] = vsub(p, q);
    r[3] = vadd(p4, q4);
    r[4] = vsub(p4, q4);
    r[5] = y[3];
}

/* dM of one tile into row `tile` of the 36 matrices at w (each WINOGRAD4_GRADIENT_TILES x F, winograd4_gradient_stride
 * apart). The tile's outputs start at dz (`line` floats a row); only its first `rows` rows and `cols` columns lie
 * inside the map (zeros for the others). */
static inline void winograd4_gradient_tile(const float *dz, long line, int f, int rows, int cols, float *w, int tile) {
    long step = winograd4_gradient_stride(f);
    for (int c0 = 0; c0 < f; c0 += VL) {
        vmask k = vmask_lanes(f - c0);
        vfloat t[6][4]; /* t = A dz: column j of dz turned into column j of t */
        for (int j = 0; j < 4; j++) {
            vfloat y[4], r[6];
            for (int i = 0; i < 4; i++)
                y[i] = i < rows && j < cols ? vload(k, dz + i * line + (long)j * f + c0) : vzero();
            winograd4_gradient_1d(y, r);
            for (int i = 0; i < 6; i++) t[i][j] = r[i];
        }
        float *at = w + (long)tile * f + c0;
        for (int i = 0; i < 6; i++) {
            vfloat r[6];
            winograd4_gradient_1d(t[i], r);
            for (int j = 0; j < 6; j++) vstore(at + (i * 6 + j) * step, k, r[j]);
        }
    }
}

/* The chunk's 36 products into the thread's dU (accumulated), and the chunk emptied. */
static void winograd4_gradient_flush(const prelu_conv2d_shape *s, winograd_gradient_chunk *c, float *du) {
    int cin = s->in_channels, f = s->filters;
    if (c->filled == 0) return;
    prelu_count_flops((int64_t)c->filled * (WINOGRAD4_PATCH_FLOPS * cin + WINOGRAD4_GRADIENT_TILE_FLOPS * f));
    winograd_gradient_products(36, cin, f, c, winograd4_gradient_stride(cin), winograd4_gradient_stride(f), du);
}

/* Every 4x4 tile of one image into the chunk (flushed into du whenever it is full): its 6x6 patch of `image` and its
 * output gradient from dz (OH x OW x F). */
static void winograd4_gradient_image(const prelu_conv2d_shape *s, const float *image, const float *dz, winograd_gradient_chunk *c,
                                     float *du) {
    int cin = s->in_channels, f = s->filters, tiles_x = (s->out_w + 3) / 4, tiles = ((s->out_h + 3) / 4) * tiles_x;
    long out_line = (long)s->out_w * f;
    for (int t = 0; t < tiles; t++) {
        int oy = t / tiles_x * 4, ox = t % tiles_x * 4;
        winograd4_map_patch(s, image, oy, ox, c->v, winograd4_gradient_stride(cin), c->filled);
        winograd4_gradient_tile(dz + oy * out_line + (long)ox * f, out_line, f, min_int(4, s->out_h - oy), min_int(4, s->out_w - ox), c->w,
                                c->filled);
        if (++c->filled == WINOGRAD4_GRADIENT_TILES) winograd4_gradient_flush(s, c, du);
    }
}
#else
/* The other builds never take this path (winograd_applies is 0); these keep their callers free of #if. */
static inline size_t winograd4_gradient_chunk_floats(const prelu_conv2d_shape *s) { (void)s; return 0; }
static inline long winograd4_gradient_floats(const prelu_conv2d_shape *s) { (void)s; return 0; }
static inline winograd_gradient_chunk winograd4_gradient_chunk_at(const prelu_conv2d_shape *s, float *scratch) {
    (void)s;
    winograd_gradient_chunk c = {scratch, scratch, 0};
    return c;
}
static void winograd4_gradient_flush(const prelu_conv2d_shape *s, winograd_gradient_chunk *c, float *du) { (void)s, (void)c, (void)du; }
static void winograd4_gradient_image(const prelu_conv2d_shape *s, const float *image, const float *dz, winograd_gradient_chunk *c,
                                     float *du) {
    (void)s, (void)image, (void)dz, (void)c, (void)du;
}
static inline size_t winograd4_kernel_floats(const prelu_conv2d_shape *s) { (void)s; return 0; }
static inline size_t winograd4_chunk_floats(const prelu_conv2d_shape *s) { (void)s; return 0; }
static void winograd4_kernel(const prelu_conv2d_shape *s, const float *kernel, float *u) { (void)s, (void)kernel, (void)u; }
static void winograd4_images(const prelu_conv2d_shape *s, int images, const float *input, long in_size, const float *u, float *out,
                             long out_size, float *scratch) {
    (void)s, (void)images, (void)input, (void)in_size, (void)u, (void)out, (void)out_size, (void)scratch;
}
#endif

/* dg = G^T dU G into the kernel gradient (3, 3, Cin, F), where dU (36 matrices of Cin x F) is the sum of the threads'
 * partials (`threads` of them, `per_thread` floats apart, added in thread order as add_thread_partials adds them). The
 * elements are shared out between the threads, each a run of them through its scratch: its run of dU's 36 rows, then
 * G^T dU's three rows of six. */
static void winograd4_kernel_gradient(const prelu_conv2d_shape *s, const float *partials, int threads, long per_thread, float *dkernel) {
    long per_element = (long)s->in_channels * s->filters;
    prelu_count_flops(per_element * WINOGRAD4_KERNEL_GRADIENT_FLOPS);
#pragma omp parallel num_threads(prelu_thread_count())
    {
        int team = omp_get_num_threads(), me = omp_get_thread_num();
        long first = per_element * me / team, count = per_element * (me + 1) / team - first;
        float *du = prelu_scratch(PRELU_SCRATCH_PACKED_A, 54 * (size_t)(count > 0 ? count : 1)), *t = du + 36 * count;
        for (int r = 0; r < 36; r++) add_thread_partials(du + r * count, partials, threads, per_thread, r * per_element + first, count);
        /* Column j of G^T dU: rows 0 to 5 of dU combined as G's columns say. */
        for (int j = 0; j < 6; j++) {
            const float *d[6];
            for (int i = 0; i < 6; i++) d[i] = du + (i * 6 + j) * count;
            for (int a = 0; a < 3; a++) winograd4_g_columns(a, d, t + (a * 6 + j) * count, count);
        }
        for (int a = 0; a < 3; a++) {
            const float *row[6];
            for (int j = 0; j < 6; j++) row[j] = t + (a * 6 + j) * count;
            for (int b = 0; b < 3; b++) winograd4_g_columns(b, row, dkernel + (a * 3 + b) * per_element + first, count);
        }
    }
}
