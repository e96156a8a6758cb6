/* winograd_gradient.h: the kernel gradient of a 3x3 convolution of stride 1 through the same F(2x2, 3x3) transforms as its
 * forward (winograd.h). The forward's tile is z = A^T M A with M[xi] = V[xi] U[xi] (xi one of the 16 places of a 4x4
 * tile) and U = G g G^T, so by the chain rule, for a tile's output gradient dz (2x2 per filter):
 *     dM = A dz A^T,   dU[xi] = sum over tiles of V[xi]^T dM[xi],   dg = G^T dU G.
 * Each chunk of tiles has its input patches transformed as forward (V = B^T d B, per input channel) and its output
 * gradients as above (per filter), then 16 products Cin x F over the chunk's tiles accumulate into the thread's dU;
 * dg is made once, from the threads' dU added in thread order. The products do 16 multiply-adds per input channel,
 * filter and tile where the direct kernel gradient does 36. A tile that hangs over the map's bottom or right edge
 * has no gradient there (zeros); its patch reads zeros outside the input, as forward.
 * The AVX-512 and AVX2 builds, as winograd.h. */

/* Tiles whose transforms are multiplied together: the products' K. Long enough that packing the operands is a small
 * share of the products; short enough that a chunk (16 x tiles x (Cin + F) floats) stays in L2 at 32 channels. */
#define WINOGRAD_GRADIENT_TILES 128

/* A thread's chunk: the transformed patches V (16 matrices of tiles x Cin), the transformed output gradients W (16 of
 * tiles x F), and how many tiles are in it. The 16 matrices lie a cache line more than their size apart: a tile's
 * transform stores one vector into each, and at a power-of-two distance (128 tiles of 32 channels: 16 KB) all 16 fall
 * into one set of the L1 cache, which holds 8. */
typedef struct winograd_gradient_chunk {
    float *v, *w;
    int filled;
} winograd_gradient_chunk;

/* The layout of a chunk of `tiles` tiles of a transform with `points` matrices (F(2x2)'s 16 here, F(4x4)'s 36 in
 * winograd4.h): each matrix `tiles` x channels, a cache line more than that apart; V's matrices, then W's. */
static inline long gradient_chunk_stride(int tiles, int channels) { return (long)tiles * channels + 16; }

static inline size_t gradient_chunk_floats(int points, int tiles, const prelu_conv2d_shape *s) {
    return (size_t)points * (gradient_chunk_stride(tiles, s->in_channels) + gradient_chunk_stride(tiles, s->filters));
}

static inline winograd_gradient_chunk gradient_chunk_at(int points, int tiles, const prelu_conv2d_shape *s, float *scratch) {
    winograd_gradient_chunk c = {scratch, scratch + points * gradient_chunk_stride(tiles, s->in_channels), 0};
    return c;
}

static inline long winograd_gradient_stride(int channels) { return gradient_chunk_stride(WINOGRAD_GRADIENT_TILES, channels); }
static inline size_t winograd_gradient_chunk_floats(const prelu_conv2d_shape *s) {
    return gradient_chunk_floats(16, WINOGRAD_GRADIENT_TILES, s);
}
static inline winograd_gradient_chunk winograd_gradient_chunk_at(const prelu_conv2d_shape *s, float *scratch) {
    return gradient_chunk_at(16, WINOGRAD_GRADIENT_TILES, s, scratch);
}

/* A thread's dU: 16 matrices of Cin x F. */
static inline long winograd_gradient_floats(const prelu_conv2d_shape *s) { return 16L * s->in_channels * s->filters; }

/* A^T M A's transpose for one tile's output gradient: dM = A dz A^T, A = [1 0; 1 1; 1 -1; 0 -1], for 2x2 per filter,
 * 18 flops per filter. */
#define WINOGRAD_GRADIENT_TILE_FLOPS 18
/* G^T dU G per input channel and filter (6 per column of dU, then 6 per row of the 3x4 product). */
#define WINOGRAD_KERNEL_GRADIENT_FLOPS 42

#if defined(PRELU_AVX2)
/* dM of one tile into row `tile` of the 16 matrices at w (each WINOGRAD_GRADIENT_TILES x F, winograd_gradient_stride
 * apart). The tile's outputs start at dz (`line` floats a row); only its first `rows` rows and `cols` columns lie inside
 * the map. */
static inline void winograd_gradient_tile(const float *dz, long line, int f, int rows, int cols, float *w, int tile) {
    long step = winograd_gradient_stride(f);
    for (int c0 = 0; c0 < f; c0 += VL) {
        vmask k = vmask_lanes(f - c0);
        vfloat y[2][2], t[4][2];
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++)
                y[i][j] = i < rows && j < cols ? vload(k, dz + i * line + (long)j * f + c0) : vzero();
        for (int j = 0; j < 2; j++) {
            t[0][j] = y[0][j];
            t[1][j] = vadd(y[0][j], y[1][j]);
            t[2][j] = vsub(y[0][j], y[1][j]);
            t[3][j] = vsub(vzero(), y[1][j]);
        }
        float *at = w + (long)tile * f + c0;
        for (int i = 0; i < 4; i++) {
            vstore(at + (i * 4 + 0) * step, k, t[i][0]);
            vstore(at + (i * 4 + 1) * step, k, vadd(t[i][0], t[i][1]));
            vstore(at + (i * 4 + 2) * step, k, vsub(t[i][0], t[i][1]));
            vstore(at + (i * 4 + 3) * step, k, vsub(vzero(), t[i][1]));
        }
    }
}

/* dU[xi] += V[xi]^T W[xi] for the `points` matrices of a chunk of `count` tiles (V's `v_stride`, W's `w_stride` floats
 * apart), and the chunk emptied: F(2x2, 3x3)'s 16 and F(4x4, 3x3)'s 36 (winograd4.h). */
static void winograd_gradient_products(int points, int cin, int f, winograd_gradient_chunk *c, long v_stride, long w_stride, float *du) {
    for (int xi = 0; xi < points; xi++)
        gemm(cin, f, c->filled, view(c->v + xi * v_stride, 1, cin), view(c->w + xi * w_stride, f, 1), du + (long)xi * cin * f, f, 1);
    c->filled = 0;
}

/* The chunk's 16 products into the thread's dU (accumulated), and the chunk emptied. */
static void winograd_gradient_flush(const prelu_conv2d_shape *s, winograd_gradient_chunk *c, float *du) {
    int cin = s->in_channels, f = s->filters;
    if (c->filled == 0) return;
    prelu_count_flops((int64_t)c->filled * (WINOGRAD_PATCH_FLOPS * cin + WINOGRAD_GRADIENT_TILE_FLOPS * f));
    winograd_gradient_products(16, cin, f, c, winograd_gradient_stride(cin), winograd_gradient_stride(f), du);
}

/* Every tile of one image into the chunk (flushed into du whenever it is full): its patch of `image` and its output
 * gradient from dz (OH x OW x F). */
static void winograd_gradient_image(const prelu_conv2d_shape *s, const float *image, const float *dz, winograd_gradient_chunk *c,
                                    float *du) {
    int f = s->filters, tiles_x = (s->out_w + 1) / 2, tiles = ((s->out_h + 1) / 2) * tiles_x;
    long out_line = (long)s->out_w * f;
    for (int t = 0; t < tiles; t++) {
        int oy = t / tiles_x * 2, ox = t % tiles_x * 2;
        winograd_map_patch(s, image, oy, ox, c->v, winograd_gradient_stride(s->in_channels), c->filled);
        winograd_gradient_tile(dz + oy * out_line + (long)ox * f, out_line, f, min_int(2, s->out_h - oy), min_int(2, s->out_w - ox), c->w,
                               c->filled);
        if (++c->filled == WINOGRAD_GRADIENT_TILES) winograd_gradient_flush(s, c, du);
    }
}
#else
static void winograd_gradient_flush(const prelu_conv2d_shape *s, winograd_gradient_chunk *c, float *du) { (void)s, (void)c, (void)du; }
static void winograd_gradient_image(const prelu_conv2d_shape *s, const float *image, const float *dz, winograd_gradient_chunk *c,
                                    float *du) {
    (void)s, (void)image, (void)dz, (void)c, (void)du;
}
#endif

/* dg = G^T dU G, G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1], into the kernel gradient (3, 3, Cin, F), where dU (16
 * matrices of Cin x F) is the sum of the threads' partials (`threads` of them, `per_thread` floats apart), added first in
 * thread order. Plain C, on the calling thread: once per call, over Cin x F (winograd4_kernel_gradient, F(4x4)'s, takes
 * the same arguments and shares its elements out). */
static void winograd_kernel_gradient(const prelu_conv2d_shape *s, const float *partials, int threads, long per_thread, float *dkernel) {
    long per_element = (long)s->in_channels * s->filters;
    float *du = prelu_scratch(PRELU_SCRATCH_DCOLUMNS, (size_t)16 * per_element);
    add_thread_partials(du, partials, threads, per_thread, 0, 16 * per_element);
    prelu_count_flops(per_element * WINOGRAD_KERNEL_GRADIENT_FLOPS);
    for (long e = 0; e < per_element; e++) {
        float t[3][4];
        /* Column j of G^T dU: rows 0 to 3 of dU combined as G's columns say. */
        for (int j = 0; j < 4; j++) {
            float d0 = du[(0 * 4 + j) * per_element + e], d1 = du[(1 * 4 + j) * per_element + e];
            float d2 = du[(2 * 4 + j) * per_element + e], d3 = du[(3 * 4 + j) * per_element + e];
            float sum = 0.5f * (d1 + d2), difference = 0.5f * (d1 - d2);
            t[0][j] = d0 + sum, t[1][j] = difference, t[2][j] = sum + d3;
        }
        for (int a = 0; a < 3; a++) {
            float sum = 0.5f * (t[a][1] + t[a][2]), difference = 0.5f * (t[a][1] - t[a][2]);
            dkernel[(a * 3 + 0) * per_element + e] = t[a][0] + sum;
            dkernel[(a * 3 + 1) * per_element + e] = difference;
            dkernel[(a * 3 + 2) * per_element + e] = sum + t[a][3];
        }
    }
}
