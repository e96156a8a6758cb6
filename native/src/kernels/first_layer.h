/* first_layer.h: a first layer (a 3x3 convolution of one channel, at most 32 filters) under 2x2 max pooling, forward
 * (AVX-512 and AVX2) and backward (AVX-512) in registers; the pooled call (conv2d_pool.h) takes it where
 * first_layer_in_registers. */

/* A first layer directly, in registers (AVX-512 and AVX2): a kernel of at most 9 elements per filter (a 3x3 convolution of one
 * channel) and at most 32 filters under 2x2 pooling. Its product has K = 9, too short for the GEMM's register blocks
 * to pay for their stores to the tile and the tile's passes of bias, activation and pooling (the first convolution
 * spent three quarters of its time there). Here the kernel stays in registers (9 x 2 vectors) and each pooling window's
 * four positions are summed, activated and pooled in registers; only the pooled value, z at the winner and its place
 * are stored. The sums run in the GEMM's order (from zero, kernel element by element, then the bias) and the
 * activation and pooling are those of prelu_row and pool_window: the same bits as the general path.
 * Activations: linear, ReLU, LeakyReLU and PReLU (its alphas per position in window order, or one row for every
 * position); the others take the general path. */
static inline int first_layer_shape(const prelu_conv2d_shape *s, const prelu_conv2d_shape *pool) {
#if defined(PRELU_AVX2)
    return pool->kernel_h == 2 && pool->kernel_w == 2 && s->kernel_h * s->kernel_w * s->in_channels <= 9 && s->filters <= 32;
#else
    (void)s, (void)pool;
    return 0;
#endif
}

/* Whether each pooling window's outputs are one 2x2 tile of a 3x3 convolution of stride 1, read from one 4x4 patch of
 * the input, the tiles side by side: 2x2 windows of stride 2. Winograd's F(2x2, 3x3) computes such a tile at once. */
static inline int windows_are_tiles(const prelu_conv2d_shape *s, const prelu_conv2d_shape *pool) {
    return s->kernel_h == 3 && s->kernel_w == 3 && s->stride_y == 1 && s->stride_x == 1 && pool->kernel_h == 2 && pool->kernel_w == 2 &&
           pool->stride_y == 2 && pool->stride_x == 2;
}

/* Whether a first layer's patches (windows_are_tiles) are of one channel, 16 floats, which one vector holds: its
 * backward then takes each winner's window from that vector (first_layer_backward_image). */
static inline int first_layer_reads_patches(const prelu_conv2d_shape *s, const prelu_conv2d_shape *pool) {
    return windows_are_tiles(s, pool) && s->in_channels == 1;
}

/* Whether a convolution's activation over f filters is a rectifier that the pooling's epilogue in registers
 * (pool_four_places) applies: linear, ReLU, LeakyReLU, or a PReLU whose alphas repeat with each position's filters
 * (any sharing but channel-wise over a number of channels that does not divide f). */
static inline int rectifier_in_registers(const prelu_activation *act, int f) {
    return act->kind == PRELU_LINEAR || act->kind == PRELU_RELU || act->kind == PRELU_LEAKY_RELU ||
           (act->kind == PRELU_PRELU && act->sharing != PRELU_ALPHA_CHANNEL_WISE) ||
           (act->kind == PRELU_PRELU && act->sharing == PRELU_ALPHA_CHANNEL_WISE && f % act->channels == 0);
}

static inline int first_layer_in_registers(const prelu_conv2d_shape *s, const prelu_conv2d_shape *pool, const prelu_activation *act) {
    return first_layer_shape(s, pool) && rectifier_in_registers(act, s->filters);
}

/* A rectifier's negative slope for each of f filters where it does not change from position to position: ReLU's 0,
 * LeakyReLU's slope, a PReLU's alpha (channel-wise, or one shared). */
static inline void rectifier_slopes(const prelu_activation *act, const float *alpha, int f, float *slope_row) {
    for (int c = 0; c < f; c++)
        slope_row[c] = act->kind == PRELU_PRELU ? alpha[alpha_index(act, c)] : act->kind == PRELU_LEAKY_RELU ? act->parameter : 0.0f;
}

/* The input offset of each kernel element (KH, KW, Cin order) from its window's top-left: at most 9 for a first layer. */
static inline void kernel_element_offsets(const prelu_conv2d_shape *s, long element[9]) {
    for (int ky = 0, k = 0; ky < s->kernel_h; ky++)
        for (int kx = 0; kx < s->kernel_w; kx++)
            for (int ci = 0; ci < s->in_channels && k < 9; ci++, k++) element[k] = ((long)ky * s->width + kx) * s->in_channels + ci;
}

#if defined(PRELU_AVX2)
/* Pooled values [0, P) of one image (first_layer_in_registers), filters [first, first + vectors VL) of f (`vectors` 1 or
 * 2; first_layer_filters below takes every filter). `offset` is window_order's input offsets, `element` the input offset
 * of each kernel element within a window. The negative slope of place q of pooled value p is slopes + (p * 4 + q) *
 * slope_step (slope_step 0: one row for all; NULL for a linear layer). With a dropout (or NULL) its mask and output are
 * stored instead of the pooled values, which are elements [index, ...) of the pooled result. */
static inline __attribute__((always_inline)) void first_layer_image(const int vectors, int first, int f, int kd, int pooled_per_image,
                                                                     const long *offset, const long *element, const float *image,
                                                                     const float *kernel, const float *bias, const float *slopes,
                                                                     long slope_step, float *pooled, float *kept_z, float *kept_place,
                                                                     const dropout_epilogue *drop, int64_t index) {
    vmask m[2];
    vfloat w[9][2], b[2];
    for (int v = 0; v < vectors; v++) {
        m[v] = vmask_lanes(f - first - VL * v);
        b[v] = bias ? vload(m[v], bias + first + VL * v) : vzero();
    }
#pragma GCC unroll 9
    for (int k = 0; k < 9; k++)
        for (int v = 0; v < vectors; v++) w[k][v] = k < kd ? vload(m[v], kernel + (long)k * f + first + VL * v) : vzero();
    prelu_count_flops(2 * (int64_t)pooled_per_image * 4 * kd * min_int(f - first, vectors * VL)); /* every place of every window */
    for (int p = 0; p < pooled_per_image; p++) {
        const long *at = offset + p * 4;
        vfloat z[4][2];
        /* A PReLU per element's alphas of the window 8 ahead, into L1: five
         * alternated pairs of runs on a Zen 3, per-element PReLU against ReLU turn by turn +2.7..+4.2% -> +1.4..+3.7%, each
         * pair lower; sets of ten rounds either way move by more than that with the machine's state. */
        if (slope_step && p + 8 < pooled_per_image)
            for (int q = 0; q < 4; q++) __builtin_prefetch(slopes + ((long)(p + 8) * 4 + q) * slope_step + first);
#pragma GCC unroll 4
        for (int q = 0; q < 4; q++)
            for (int v = 0; v < vectors; v++) z[q][v] = vzero();
#pragma GCC unroll 9
        for (int k = 0; k < 9; k++) {
            if (k >= kd) break;
#pragma GCC unroll 4
            for (int q = 0; q < 4; q++) {
                vfloat x = vset(image[at[q] + element[k]]);
                for (int v = 0; v < vectors; v++) z[q][v] = vfmadd(x, w[k][v], z[q][v]);
            }
        }
        long out = (long)p * f + first;
        for (int v = 0; v < vectors; v++) {
            const vfloat zv[4] = {z[0][v], z[1][v], z[2][v], z[3][v]};
            long at = out + VL * v;
            pool_four_places(zv, m[v], bias != NULL, b[v], slopes ? slopes + p * 4 * slope_step + first + VL * v : NULL, slope_step, pooled + at,
                             kept_z + at, kept_place + at, drop, index + at);
        }
    }
}

/* Every filter of one image by first_layer_image, two vectors at a time (one for a last odd vector): all of a first
 * layer's 32 filters in AVX-512's, 16 in AVX2's, whose 16 registers do not hold both vectors' kernels and sums (the
 * kernel is read back from the stack; one vector at a time, which fits, measured slower: 2.4-2.8 against 1.9-2.7 ms for
 * the study's first layer on a Zen 3). */
static inline void first_layer_filters(int f, int kd, int pooled_per_image, const long *offset, const long *element, const float *image,
                                       const float *kernel, const float *bias, const float *slopes, long slope_step, float *pooled,
                                       float *kept_z, float *kept_place, const dropout_epilogue *drop, int64_t index) {
    for (int first = 0; first < f; first += 2 * VL) {
        if (f - first > VL)
            first_layer_image(2, first, f, kd, pooled_per_image, offset, element, image, kernel, bias, slopes, slope_step, pooled, kept_z,
                              kept_place, drop, index);
        else
            first_layer_image(1, first, f, kd, pooled_per_image, offset, element, image, kernel, bias, slopes, slope_step, pooled, kept_z,
                              kept_place, drop, index);
    }
}
#endif

/* A first layer's activation backward done in registers with its kernel gradient (first_layer_backward_image):
 * d = z > 0 ? g : slope * g at each winner (linear: d = g), slopes from one row (ReLU's zeros, LeakyReLU's slope, a
 * channel-wise PReLU's alphas) or, for a PReLU per element, the alpha at the winner's position; a PReLU adds z g where
 * z <= 0 to its alpha gradient. Other activations (`in_registers` 0) have d computed by winners_backward first. */
typedef struct first_layer_backward {
    int in_registers, linear;
    const float *slopes;              /* one row of F, or NULL for a PReLU per element */
    const float *alpha;               /* a PReLU per element's alphas in window order (rows of F) */
    int prelu;                        /* whether to add to dalpha: per element (slopes NULL) or one row */
} first_layer_backward;

static inline first_layer_backward first_layer_backward_of(const prelu_conv2d_shape *s, const prelu_activation *act, const float *alpha,
                                                           const float *slope_row) {
    first_layer_backward b = {0, act->kind == PRELU_LINEAR, slope_row, NULL, act->kind == PRELU_PRELU};
    b.in_registers = act->kind == PRELU_LINEAR || act->kind == PRELU_RELU || act->kind == PRELU_LEAKY_RELU ||
                     (act->kind == PRELU_PRELU && act->sharing == PRELU_ALPHA_PER_ELEMENT) ||
                     (act->kind == PRELU_PRELU && act->sharing == PRELU_ALPHA_CHANNEL_WISE && act->channels == s->filters);
    if (act->kind == PRELU_PRELU && act->sharing == PRELU_ALPHA_PER_ELEMENT) {
        b.slopes = NULL;
        b.alpha = alpha;
    }
    return b;
}

#if defined(PRELU_AVX512)
/* One image of a first layer's backward (first_layer_shape), in registers: dL/dz at each winner (from dpooled, times
 * the dropout's mask if there is one, and the kept z as `how` says, with the bias and alpha sums; or read from dz where
 * winners_backward computed it), then
 * the kernel gradient: dk (KD x F, 9 x 2 vectors at most) += each winner's window times its dz, place by place, the
 * dz of the filters another place won masked to zero (as kernel_gradient_by_product's spread rows hold zeros). With
 * `patches` (first_layer_reads_patches, a constant in each expansion) the pooling window's 4x4 patch of the input is
 * loaded into one vector and each lane permutes its own winner's window out of it: one multiply-add per kernel element
 * and vector of filters instead of one per place, the same sums (the places it skips added exact zeros). The image's
 * kernel sums start from zero and are then added to dk. `offset` is window_order's; `width` is the
 * input's. */
static inline __attribute__((always_inline)) void first_layer_backward_image(const int vectors, const int patches, long width, int f, int kd,
                                                                              int pooled_per_image,
                                                                              const long *offset, const long *element,
                                                                              const float *image, first_layer_backward how, const float *dpooled,
                                                                              const float *dropout_mask, const float *kz, const float *dz,
                                                                              const float *place, float *dk, float *db, float *da) {
    __mmask16 m[2];
    __m512 sum[9][2];
    /* A place's window starts at this lane of the patch (row-major, 4 wide): places 0-3 are (0, 0), (0, 1), (1, 0), (1, 1). */
    const __m512i place_corner = _mm512_setr_epi32(0, 1, 4, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    for (int v = 0; v < vectors; v++) {
        m[v] = lanes_mask(f - 16 * v);
    }
#pragma GCC unroll 9
    for (int k = 0; k < 9; k++)
        for (int v = 0; v < vectors; v++) sum[k][v] = _mm512_setzero_ps();
    /* With the patch, one multiply-add per kernel element and filter for each window; without, one per place too. */
    prelu_count_flops(2 * (int64_t)pooled_per_image * (patches ? 1 : 4) * kd * f);
    for (int p = 0; p < pooled_per_image; p++) {
        const long *at = offset + p * 4, here = (long)p * f;
        __m512 d[2], won[2];
        for (int v = 0; v < vectors; v++) {
            long c = here + 16 * v;
            won[v] = _mm512_maskz_loadu_ps(m[v], place + c);
            if (!how.in_registers) {
                d[v] = _mm512_maskz_loadu_ps(m[v], dz + c);
                continue;
            }
            __m512 g = _mm512_maskz_loadu_ps(m[v], dpooled + c);
            if (dropout_mask) g = _mm512_mul_ps(g, _mm512_maskz_loadu_ps(m[v], dropout_mask + c));
            d[v] = g;
            if (!how.linear) {
                __m512 z = _mm512_maskz_loadu_ps(m[v], kz + c), slope;
                __mmask16 positive = _mm512_cmp_ps_mask(z, _mm512_setzero_ps(), _CMP_GT_OQ), rest = m[v] & (__mmask16)~positive;
                __m512 zg = _mm512_mul_ps(z, g);
                if (how.slopes) {
                    slope = _mm512_maskz_loadu_ps(m[v], how.slopes + 16 * v);
                    if (how.prelu) {
                        add_into_row(da + 16 * v, m[v], rest, zg);
                    }
                } else {
                    long cells = (long)p * 4 * f + 16 * v; /* the window's first row, in window order */
                    slope = prelu_window_alphas(4, 0, m[v], won[v], how.alpha + cells, f, da + cells, rest, zg);
                }
                d[v] = _mm512_mask_mov_ps(_mm512_mul_ps(slope, g), positive, g);
            }
            add_into_row(db + 16 * v, m[v], m[v], d[v]);
        }
        if (patches) {
            /* The patch's four rows of four; kernel element (ky, kx) of the window at lane b is lane b + 4 ky + kx, so
             * each element shifts the patch down by that much and each lane picks its winner's corner. */
            const float *corner = image + at[0];
            __m512 xs = _mm512_castps128_ps512(_mm_loadu_ps(corner));
            xs = _mm512_insertf32x4(xs, _mm_loadu_ps(corner + width), 1);
            xs = _mm512_insertf32x4(xs, _mm_loadu_ps(corner + 2 * width), 2);
            xs = _mm512_insertf32x4(xs, _mm_loadu_ps(corner + 3 * width), 3);
            __m512i base[2];
            for (int v = 0; v < vectors; v++) base[v] = _mm512_permutexvar_epi32(_mm512_cvttps_epi32(won[v]), place_corner);
#pragma GCC unroll 9
            for (int k = 0; k < 9; k++) {
                __m512 shifted = _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_setzero_si512(), _mm512_castps_si512(xs), (k / 3) * 4 + k % 3));
                for (int v = 0; v < vectors; v++) sum[k][v] = _mm512_fmadd_ps(_mm512_permutexvar_ps(base[v], shifted), d[v], sum[k][v]);
            }
            continue;
        }
#pragma GCC unroll 4
        for (int q = 0; q < 4; q++) {
            __m512 g[2];
            for (int v = 0; v < vectors; v++) g[v] = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(won[v], _mm512_set1_ps((float)q), _CMP_EQ_OQ), d[v]);
#pragma GCC unroll 9
            for (int k = 0; k < 9; k++) {
                if (k >= kd) break;
                __m512 x = _mm512_set1_ps(image[at[q] + element[k]]);
                for (int v = 0; v < vectors; v++) sum[k][v] = _mm512_fmadd_ps(x, g[v], sum[k][v]);
            }
        }
    }
#pragma GCC unroll 9
    for (int k = 0; k < 9; k++) {
        if (k >= kd) break;
        for (int v = 0; v < vectors; v++) {
            float *row = dk + (long)k * f + 16 * v;
            _mm512_mask_storeu_ps(row, m[v], _mm512_add_ps(_mm512_maskz_loadu_ps(m[v], row), sum[k][v]));
        }
    }
}
#endif
