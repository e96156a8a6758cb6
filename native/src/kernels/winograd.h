/* winograd.h: a 3x3 convolution of stride 1 by Winograd's minimal filtering F(2x2, 3x3) (Lavin and Gray, "Fast
 * Algorithms for Convolutional Neural Networks", 2015). Each 2x2 tile of outputs comes from its 4x4 patch of the input:
 *     z = A^T [ sum over input channels of (G g G^T) .* (B^T d B) ] A
 * where d is the patch of one channel and g that channel's 3x3 kernel of one filter. With the kernel's transform
 * U = G g G^T made once per call (16 matrices of Cin x F), a chunk of tiles has its patches transformed (V = B^T d B,
 * 16 matrices of tiles x Cin), then 16 matrix products M[xi] = V[xi] U[xi] (gemm.h), then its outputs z = A^T M A:
 * the products do 16 multiply-adds per input channel, filter and tile where the direct convolution does 36, and the
 * transforms are adds (vectors over channels or filters). The sums are in another order than the direct product's
 * and are rounded differently (within the conformance tests' tolerance); the order is fixed by the shapes alone.
 *
 * A tile's first row of outputs does not read its patch's last row, nor its first column the patch's last column: a
 * tile that hangs over the map's bottom or right edge (an odd output size) is computed with zeros there and stores
 * only its outputs inside the map. Every output inside is the same sum whichever way its tile is reached, so the
 * windows of a 2x2 max pooling of stride 2, which are these tiles, see the same bits as the whole map does. Padding
 * ('same') is the same: a patch's rows and columns outside the input are zeros.
 * The backward of such a convolution takes the same transforms: its input gradient is a convolution of this kind
 * (input_gradient_shape below), its kernel gradient goes through the transforms' transposes (winograd_gradient.h).
 * The AVX-512 and AVX2 builds (the transforms are written once, in vector.h's vectors of either width: the same operations
 * on every lane, so a tile's transforms give the same bits in both); the portable and NEON builds keep the direct
 * product. */

/* Input channels from which the products are long enough to pay for the transforms (a first layer's one is not). */
#define WINOGRAD_MIN_CHANNELS 8
/* Tiles transformed and multiplied together: one register block of the products' rows in the AVX-512 build (MR), two in
 * the AVX2 build's (whose products' calls would otherwise take 6 rows each). */
#define WINOGRAD_TILES 12

static inline int winograd_applies(const prelu_conv2d_shape *s) {
#if defined(PRELU_AVX2)
    /* Any padding up to 2 ('valid', 'same', and the input gradient's 2 - p below): a tile's patch is read with zeros
     * wherever it lies outside the map. */
    return s->kernel_h == 3 && s->kernel_w == 3 && s->stride_y == 1 && s->stride_x == 1 && s->pad_top >= 0 && s->pad_top <= 2 &&
           s->pad_left >= 0 && s->pad_left <= 2 && s->out_h >= 2 && s->out_w >= 2 && s->in_channels >= WINOGRAD_MIN_CHANNELS;
#else
    (void)s;
    return 0;
#endif
}

/* The input gradient of a 3x3 convolution of stride 1 is itself such a convolution: dx[y][x] sums dy[y + p - ky][x + p -
 * kx] W[ky][kx], which is dy, padded by 2 - p, correlated with the kernel turned by 180 degrees and read with its
 * channels swapped (the filters in, the input channels out). This is that convolution's shape. */
static inline prelu_conv2d_shape input_gradient_shape(const prelu_conv2d_shape *s) {
    prelu_conv2d_shape g = *s;
    g.height = s->out_h, g.width = s->out_w, g.in_channels = s->filters, g.filters = s->in_channels;
    g.pad_top = 2 - s->pad_top, g.pad_left = 2 - s->pad_left, g.out_h = s->height, g.out_w = s->width;
    return g;
}

/* Images whose tiles (`tiles` a map) are taken as one run of chunks: the fewest (at most 8) whose tiles fill all but 3%
 * of their chunks' rows, else the 8 that waste least. A 14 x 14 map's 49 tiles alone fill 49 of 60 rows, five images'
 * 245 fill 245 of 252; a 7 x 7 map's 16 tiles fill three images' 48 rows exactly. A tile's outputs are the same bits
 * in any grouping (winograd_images), so the group is free to follow the tiles. */
static inline int winograd_images_per_group(int tiles) {
    int best = 1;
    double best_waste = 1.0;
    for (int images = 1; images <= 8; images++) {
        int rows = round_up(images * tiles, WINOGRAD_TILES);
        double waste = (double)(rows - images * tiles) / rows;
        if (waste <= 0.03) return images;
        if (waste < best_waste) best = images, best_waste = waste;
    }
    return best;
}

/* The tiles of a map of F(2x2, 3x3) (`size` 2) or F(4x4, 3x3) (4). */
static inline int winograd_map_tiles(const prelu_conv2d_shape *s, int size) {
    return ((s->out_h + size - 1) / size) * ((s->out_w + size - 1) / size);
}

/* Kernel (3, 3, Cin, F) turned by 180 degrees with its channels swapped, into `turned` (3, 3, F, Cin): the kernel of
 * input_gradient_shape's convolution. Shared out between the threads of the enclosing parallel region. */
static void turned_kernel(const prelu_conv2d_shape *s, const float *kernel, float *turned) {
    int cin = s->in_channels, f = s->filters;
#pragma omp for schedule(static)
    for (int e = 0; e < 9; e++)
        for (int c = 0; c < cin; c++)
            for (int o = 0; o < f; o++) turned[((long)e * f + o) * cin + c] = kernel[((long)(8 - e) * cin + c) * f + o];
}

#if defined(PRELU_AVX2)
/* The products' B operands, U[xi] (Cin x F) for xi = 4 i + j, each packed for gemm_packed, one after the other (F(4x4)'s
 * 36 alike: winograd4.h). */
static inline size_t winograd_kernel_stride(const prelu_conv2d_shape *s) { return packed_b_floats(s->in_channels, s->filters); }
static inline size_t winograd_kernel_floats(const prelu_conv2d_shape *s) { return 16 * winograd_kernel_stride(s); }

/* The blocks of K in which the products run: those of a plain view of V (gemm.h's k_block). */
static inline int winograd_k_block(int cin) { return k_block(view(NULL, cin, 1), cin); }

/* U = G g G^T of kernel (3, 3, Cin, F), with G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]: the 16 matrices shared out
 * between the threads of the enclosing parallel region, which wait for each other at its end. */
static void winograd_kernel(const prelu_conv2d_shape *s, const float *kernel, float *u) {
    int cin = s->in_channels, f = s->filters;
    long per_element = (long)cin * f;
#pragma omp for schedule(static)
    for (int xi = 0; xi < 16; xi++) {
        int i = xi / 4, j = xi % 4;
        /* Row i of G g takes 3 flops per column where i is 1 or 2, its product with row j of G 3 more where j is. */
        prelu_count_flops(per_element * ((i == 1 || i == 2 ? 9 : 0) + (j == 1 || j == 2 ? 3 : 0)));
        float *rows = prelu_scratch(PRELU_SCRATCH_PACKED_A, (size_t)per_element);
        for (long e = 0; e < per_element; e++) {
            float g[3][3], t[3];
            for (int a = 0; a < 3; a++)
                for (int b = 0; b < 3; b++) g[a][b] = kernel[(a * 3 + b) * per_element + e];
            /* Row i of G g, then its product with row j of G. */
            for (int b = 0; b < 3; b++)
                t[b] = i == 0 ? g[0][b] : i == 3 ? g[2][b] : 0.5f * (g[0][b] + (i == 1 ? g[1][b] : -g[1][b]) + g[2][b]);
            rows[e] = j == 0 ? t[0] : j == 3 ? t[2] : 0.5f * (t[0] + (j == 1 ? t[1] : -t[1]) + t[2]);
        }
        pack_b(cin, winograd_k_block(cin), f, view(rows, f, 1), u + xi * winograd_kernel_stride(s));
    }
}

/* B^T d B of VL channels from c0 (mask m) of one 4x4 patch, whose place k is at image + place[k] (inside the map where bit
 * k of `inside` is set, zeros elsewhere: a place outside reads nothing, through an empty mask, at the image's first
 * floats), into its row of the 16 matrices from `at`, `step` floats apart. `whole` (a constant in each expansion): the
 * patch lies inside the map and the vector inside the row (every patch of a 'valid' convolution), so plain loads and
 * stores, as winograd4.h's patches take. */
static inline __attribute__((always_inline)) void winograd_patch_channels(const int whole, const float *image, const long place[16], int inside,
                                                                          int c0, vmask m, float *at, long step) {
    vfloat d[4][4], t[4][4];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            d[i][j] = whole ? vloadu(image + place[i * 4 + j] + c0)
                            : vload(vmask_if((inside >> (i * 4 + j)) & 1, m), image + place[i * 4 + j] + c0);
    for (int j = 0; j < 4; j++) {
        t[0][j] = vsub(d[0][j], d[2][j]);
        t[1][j] = vadd(d[1][j], d[2][j]);
        t[2][j] = vsub(d[2][j], d[1][j]);
        t[3][j] = vsub(d[1][j], d[3][j]);
    }
    for (int i = 0; i < 4; i++) {
        vstore_whole(whole, at + (i * 4 + 0) * step, m, vsub(t[i][0], t[i][2]));
        vstore_whole(whole, at + (i * 4 + 1) * step, m, vadd(t[i][1], t[i][2]));
        vstore_whole(whole, at + (i * 4 + 2) * step, m, vsub(t[i][2], t[i][1]));
        vstore_whole(whole, at + (i * 4 + 3) * step, m, vsub(t[i][1], t[i][3]));
    }
}

/* V = B^T d B of one tile, with B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], into row `tile` of the 16 matrices at
 * v (each tiles x Cin, `step` floats apart). The patch's row i, column j is at image + corner + i line + j Cin; only its
 * rows y0 to y1 - 1 and columns x0 to x1 - 1 lie inside the map (zeros for the others). */
static inline void winograd_patch(const float *image, long corner, long line, int cin, int y0, int y1, int x0, int x1, float *v, long step,
                                  int tile) {
    long place[16];
    int inside = 0;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
            int in = i >= y0 && i < y1 && j >= x0 && j < x1;
            inside |= in << (i * 4 + j);
            place[i * 4 + j] = in ? corner + i * line + (long)j * cin : 0;
        }
    int all_inside = y0 == 0 && y1 == 4 && x0 == 0 && x1 == 4;
    for (int c0 = 0; c0 < cin; c0 += VL) {
        float *at = v + (long)tile * cin + c0;
        if (all_inside && c0 + VL <= cin)
            winograd_patch_channels(1, image, place, inside, c0, vmask_lanes(VL), at, step);
        else
            winograd_patch_channels(0, image, place, inside, c0, vmask_lanes(cin - c0), at, step);
    }
}

/* The patch of the tile whose outputs start at (oy, ox) of an image's map (it starts at (oy - pad_top, ox - pad_left) of
 * the input; zeros where it lies outside), into row `tile` of the 16 matrices at v, `step` floats apart. */
static inline void winograd_map_patch(const prelu_conv2d_shape *s, const float *image, int oy, int ox, float *v, long step, int tile) {
    int cin = s->in_channels, iy = oy - s->pad_top, ix = ox - s->pad_left;
    long line = (long)s->width * cin;
    winograd_patch(image, iy * line + (long)ix * cin, line, cin, max_int(0, -iy), min_int(4, s->height - iy), max_int(0, -ix),
                   min_int(4, s->width - ix), v, step, tile);
}

/* A tile's transforms: B^T d B takes 32 adds per input channel, A^T M A 24 per filter. */
#define WINOGRAD_PATCH_FLOPS 32
#define WINOGRAD_OUTPUT_FLOPS 24

/* A chunk of the forward's tiles is kept tile-major: tile t's rows of V, one per point (F(2x2)'s 16, F(4x4)'s 36), from
 * v + points t Cin on, point xi at + xi Cin, and its rows of M likewise (F floats each). A tile's transforms then touch
 * one run of memory, where the point-major layout (36 matrices of 12 rows for F(4x4): 55 KB of V, 55 of M) spread them
 * over L2. This is tile t's first row's offset in V (width Cin) or M (width F). */
static inline long winograd_tile_offset(int points, int width, int t) { return (long)t * points * width; }

/* M[xi] = V[xi] U[xi] for the `points` xi of a chunk of `count` tiles (winograd_tile_offset's layout): F(2x2)'s 16, F(4x4)'s
 * 36 (winograd4.h). Their flops are counted once for all. */
static inline void winograd_products(int points, const prelu_conv2d_shape *s, int count, const float *v, const float *u, float *m) {
    int cin = s->in_channels, f = s->filters;
    prelu_count_flops(points * 2 * (int64_t)count * f * cin);
    for (int xi = 0; xi < points; xi++)
        gemm_packed_uncounted(count, f, cin, view(v + (long)xi * cin, (long)points * cin, 1), u + xi * winograd_kernel_stride(s),
                              m + (long)xi * f, (long)points * f, 0);
}

/* z = A^T M A of one tile, with A^T = [1 1 1 0; 0 1 -1 -1], for VL filters (mask k): `from` is the tile's first filter
 * in M[0], `step` floats apart are the 16 M[xi]; output (dy, dx) into z[dy * 2 + dx]. */
static inline __attribute__((always_inline)) void winograd_tile_outputs(const float *from, long step, vmask k, vfloat z[4]) {
    vfloat s[2][4];
    for (int j = 0; j < 4; j++) {
        vfloat m0 = vload(k, from + (0 * 4 + j) * step), m1 = vload(k, from + (1 * 4 + j) * step);
        vfloat m2 = vload(k, from + (2 * 4 + j) * step), m3 = vload(k, from + (3 * 4 + j) * step);
        s[0][j] = vadd(vadd(m0, m1), m2);
        s[1][j] = vsub(vsub(m1, m2), m3);
    }
    for (int dy = 0; dy < 2; dy++) {
        z[dy * 2] = vadd(vadd(s[dy][0], s[dy][1]), s[dy][2]);
        z[dy * 2 + 1] = vsub(vsub(s[dy][1], s[dy][2]), s[dy][3]);
    }
}

/* The outputs of one tile from its rows of M (winograd_tile_offset): output (dy, dx) to out + at[dy * 2 + dx], or nowhere
 * where that is negative (outside the map). */
static inline void winograd_outputs(const float *m, int f, float *out, const long at[4]) {
    for (int c0 = 0; c0 < f; c0 += VL) {
        vmask k = vmask_lanes(f - c0);
        vfloat z[4];
        winograd_tile_outputs(m + c0, f, k, z);
        for (int q = 0; q < 4; q++)
            if (at[q] >= 0) vstore(out + at[q] + c0, k, z[q]);
    }
}

/* Per thread: V and M of one chunk of tiles. */
static inline size_t winograd_chunk_floats(const prelu_conv2d_shape *s) {
    return (size_t)16 * WINOGRAD_TILES * (s->in_channels + s->filters);
}

/* The patches and products of `count` (at most WINOGRAD_TILES) windows of a 2x2 max pooling of stride 2: returns M
 * (in the scratch; window w's rows at M + winograd_tile_offset(16, F, w)). The window's top-left input is at base +
 * offset[4 w] (offset in window order, as conv2d_pool.h keeps its rows). */
static const float *winograd_chunk_products(const prelu_conv2d_shape *s, int count, const float *base, const long *offset, const float *u,
                                            float *scratch) {
    int cin = s->in_channels;
    float *v = scratch, *m = scratch + (size_t)16 * WINOGRAD_TILES * cin;
    for (int w = 0; w < count; w++)
        winograd_patch(base, offset[4 * w], (long)s->width * cin, cin, 0, 4, 0, 4, v + winograd_tile_offset(16, cin, w), cin, 0);
    prelu_count_flops((int64_t)WINOGRAD_PATCH_FLOPS * count * cin + (int64_t)WINOGRAD_OUTPUT_FLOPS * count * s->filters);
    winograd_products(16, s, count, v, u, m);
    return m;
}

/* The outputs of `count` windows into `out` (the tile of conv2d_pool.h): rows in window order (row 4 w + q is place q
 * of window w). */
static void winograd_windows(const prelu_conv2d_shape *s, int count, const float *base, const long *offset, const float *u,
                             float *scratch, float *out) {
    int f = s->filters;
    const float *m = winograd_chunk_products(s, count, base, offset, u, scratch);
    for (int w = 0; w < count; w++) {
        long at[4] = {(4L * w + 0) * f, (4L * w + 1) * f, (4L * w + 2) * f, (4L * w + 3) * f};
        winograd_outputs(m + winograd_tile_offset(16, f, w), f, out, at);
    }
}

/* The products of whole maps (conv2d_forward, and conv2d_backward's input gradient): z (OH x OW x F) of `images`
 * consecutive images (`in_size` and `out_size` floats apart), tile by tile, the tiles' patches starting at (2 ty -
 * pad_top, 2 tx - pad_left). The chunks of tiles run on from one image into the next: a 7 x 7 map has 16 tiles, which
 * alone would fill a chunk and a third of another (16 of 24 rows of the products), where five images' 80 fill 7 chunks
 * (80 of 84). Each tile is one row of the products, summed alone, so its outputs are the same bits in any chunk. */
static void winograd_images(const prelu_conv2d_shape *s, int images, const float *input, long in_size, const float *u, float *out,
                            long out_size, float *scratch) {
    int cin = s->in_channels, f = s->filters, tiles_x = (s->out_w + 1) / 2, tiles = ((s->out_h + 1) / 2) * tiles_x;
    int all = images * tiles;
    float *v = scratch, *m = scratch + (size_t)16 * WINOGRAD_TILES * cin;
    for (int t0 = 0; t0 < all; t0 += WINOGRAD_TILES) {
        int count = min_int(WINOGRAD_TILES, all - t0);
        for (int t = 0; t < count; t++) {
            int image = (t0 + t) / tiles, tile = (t0 + t) % tiles;
            winograd_map_patch(s, input + image * in_size, tile / tiles_x * 2, tile % tiles_x * 2, v + winograd_tile_offset(16, cin, t), cin, 0);
        }
        prelu_count_flops((int64_t)WINOGRAD_PATCH_FLOPS * count * cin + (int64_t)WINOGRAD_OUTPUT_FLOPS * count * f);
        winograd_products(16, s, count, v, u, m);
        for (int t = 0; t < count; t++) {
            int image = (t0 + t) / tiles, tile = (t0 + t) % tiles;
            int oy = tile / tiles_x * 2, ox = tile % tiles_x * 2;
            long at[4];
            for (int q = 0; q < 4; q++) {
                int y = oy + q / 2, x = ox + q % 2;
                at[q] = y < s->out_h && x < s->out_w ? ((long)y * s->out_w + x) * f : -1;
            }
            winograd_outputs(m + winograd_tile_offset(16, f, t), f, out + image * out_size, at);
        }
    }
}
#else
/* The other builds never take this path (winograd_applies is 0); these keep their callers free of #if. */
static inline size_t winograd_kernel_floats(const prelu_conv2d_shape *s) { (void)s; return 0; }
static inline size_t winograd_chunk_floats(const prelu_conv2d_shape *s) { (void)s; return 0; }
static void winograd_kernel(const prelu_conv2d_shape *s, const float *kernel, float *u) { (void)s, (void)kernel, (void)u; }
static void winograd_images(const prelu_conv2d_shape *s, int images, const float *input, long in_size, const float *u, float *out,
                            long out_size, float *scratch) {
    (void)s, (void)images, (void)input, (void)in_size, (void)u, (void)out, (void)out_size, (void)scratch;
}
static void winograd_windows(const prelu_conv2d_shape *s, int count, const float *base, const long *offset, const float *u,
                             float *scratch, float *out) {
    (void)s, (void)count, (void)base, (void)offset, (void)u, (void)scratch, (void)out;
}
#endif
