/* conv2d_pool.h: a convolution (+ bias + activation) and the max pooling that follows it, in one call.
 *
 * Where the pooling's windows do not overlap and have no padding (Keras's MaxPooling2D defaults) and the
 * convolution reads its input in place (conv2d.h), max pooling's own sparsity does most of the work:
 * - Forward computes only the convolution outputs that some window covers, window by window, into a tile of the
 *   thread's scratch, and pools them there. The layer's full output is never written; what backward needs is kept
 *   compact in the pre-activation's buffer (the output's, for a linear layer): for each pooled value, z at its
 *   window's winner, then the winner's place in its window (a small integer, as a float).
 * - Backward: only a window's winner receives a gradient, so dL/dz has one nonzero per pooled value. Each adds its
 *   window of the input, times dz, to the kernel gradient, and its filter's kernel, times dz, to its window of the
 *   input gradient: a quarter of the dense products' work under 2x2 pooling, with no im2col matrix, no col2im and no
 *   full-size gradient written.
 * Other poolings take the general path: the convolution of conv2d.h, its output pooled group by group; without a
 * pooling (pool NULL), the convolution alone. */

/* Whether conv2d_pool_forward/backward take the winners' path for this convolution and pooling: windows that do not
 * overlap and lie wholly inside the map ('same' pooling of an odd map pads after it, with pad_top still 0). Two floats
 * per pooled value must fit in the convolution's output, which holds `window` of them per pooled value. */
static inline int pools_by_winners(const prelu_conv2d_shape *s, const prelu_conv2d_shape *pool) {
    if (!pool) return 0;
    int window = pool->kernel_h * pool->kernel_w;
    return pool->pad_top == 0 && pool->pad_left == 0 && pool->stride_y >= pool->kernel_h && pool->stride_x >= pool->kernel_w &&
           (pool->out_h - 1) * pool->stride_y + pool->kernel_h <= pool->height &&
           (pool->out_w - 1) * pool->stride_x + pool->kernel_w <= pool->width && window >= 2 && reads_input_in_place(s);
}

/* Rows of one image in window order: row (p, q) is place q (row-major in the window) of pooled value p. For each,
 * the convolution output it is (position, as oy * OW + ox) and the input offset of its window's top-left. */
static void window_order(const prelu_conv2d_shape *s, const prelu_conv2d_shape *pool, int32_t *position, long *input_offset) {
    int window = pool->kernel_h * pool->kernel_w, cin = s->in_channels;
    for (int py = 0, r = 0; py < pool->out_h; py++)
        for (int px = 0; px < pool->out_w; px++)
            for (int q = 0; q < window; q++, r++) {
                int oy = py * pool->stride_y + q / pool->kernel_w, ox = px * pool->stride_x + q % pool->kernel_w;
                position[r] = oy * s->out_w + ox;
                input_offset[r] = ((long)oy * s->stride_y * s->width + (long)ox * s->stride_x) * cin;
            }
}

/* One pooled value over its window's rows of the tile (z and y, `f` channels each, one row per place): the
 * maximum of y (ties to the first place, as max pooling), z at that place, and the place. The AVX-512 build keeps the
 * three in registers across the window (GCC's own vectorisation stores a row with masks and reads it back at the next
 * place, and a masked store does not forward to a load), and with a dropout (`drop`, or NULL) stores the dropout's
 * mask and output of the pooled values (elements [index, index + f) of the pooled result) instead of them; the other
 * builds leave the dropout to the caller. */
static inline void pool_window(int window, int f, const float *restrict z_rows, const float *restrict y_rows, float *restrict out,
                               float *restrict kept_z, float *restrict kept_place, const dropout_epilogue *drop, int64_t index) {
#if defined(PRELU_AVX512)
    for (int c = 0; c < f; c += 16) {
        __mmask16 m = lanes_mask(f - c);
        __m512 best = _mm512_maskz_loadu_ps(m, y_rows + c), best_z = _mm512_maskz_loadu_ps(m, z_rows + c), place = _mm512_setzero_ps();
        for (int q = 1; q < window; q++) {
            __m512 yq = _mm512_maskz_loadu_ps(m, y_rows + (long)q * f + c);
            __mmask16 better = _mm512_cmp_ps_mask(yq, best, _CMP_GT_OQ);
            best = _mm512_mask_mov_ps(best, better, yq);
            best_z = _mm512_mask_mov_ps(best_z, better, _mm512_maskz_loadu_ps(m, z_rows + (long)q * f + c));
            place = _mm512_mask_mov_ps(place, better, _mm512_set1_ps((float)q));
        }
        if (drop)
            dropout_store16(drop, index + c, m, best);
        else
            _mm512_mask_storeu_ps(out + c, m, best);
        _mm512_mask_storeu_ps(kept_z + c, m, best_z);
        _mm512_mask_storeu_ps(kept_place + c, m, place);
    }
#else
    (void)drop, (void)index;
    for (int c = 0; c < f; c++) {
        out[c] = y_rows[c];
        kept_z[c] = z_rows[c];
        kept_place[c] = 0.0f;
    }
    for (int q = 1; q < window; q++) {
        const float *yq = y_rows + (long)q * f, *zq = z_rows + (long)q * f;
        for (int c = 0; c < f; c++) {
            if (yq[c] > out[c]) {
                out[c] = yq[c];
                kept_z[c] = zq[c];
                kept_place[c] = (float)q;
            }
        }
    }
#endif
}

#if defined(PRELU_AVX512)
/* The pooling's epilogue in registers for one vector of filters (mask m) of one pooled value, from its window's four
 * outputs z[q] (places in window order): the bias (when `biased`), the rectifier with the negative slopes of place q
 * at slopes + q * slope_step (NULL: a linear layer), the maximum (ties to the first place) and what pool_window stores.
 * The same operations in the same order as the tile's passes (the bias, prelu_row or leaky_row, pool_window): the
 * same bits. */
static inline __attribute__((always_inline)) void pool_four_places(const __m512 z[4], __mmask16 m, int biased, __m512 b, const float *slopes,
                                                                   long slope_step, float *pooled, float *kept_z, float *kept_place,
                                                                   const dropout_epilogue *drop, int64_t index) {
    __m512 best = _mm512_setzero_ps(), best_z = best, place = best;
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++) {
        __m512 zq = biased ? _mm512_add_ps(z[q], b) : z[q], yq = zq;
        if (slopes) {
            __m512 a = _mm512_maskz_loadu_ps(m, slopes + q * slope_step);
            yq = _mm512_mask_mov_ps(_mm512_mul_ps(a, zq), _mm512_cmp_ps_mask(zq, _mm512_setzero_ps(), _CMP_GT_OQ), zq);
        }
        if (q == 0) {
            best = yq;
            best_z = zq;
        } else {
            __mmask16 better = _mm512_cmp_ps_mask(yq, best, _CMP_GT_OQ);
            best = _mm512_mask_mov_ps(best, better, yq);
            best_z = _mm512_mask_mov_ps(best_z, better, zq);
            place = _mm512_mask_mov_ps(place, better, _mm512_set1_ps((float)q));
        }
    }
    if (drop)
        dropout_store16(drop, index, m, best);
    else
        _mm512_mask_storeu_ps(pooled, m, best);
    _mm512_mask_storeu_ps(kept_z, m, best_z);
    _mm512_mask_storeu_ps(kept_place, m, place);
}
#endif

/* A first layer directly, in registers (AVX-512): a kernel of at most 9 elements per filter (a 3x3 convolution of one
 * channel) and at most 32 filters under 2x2 pooling. Its product has K = 9, too short for the GEMM's register blocks
 * to pay for their stores to the tile and the tile's passes of bias, activation and pooling (the first convolution
 * spent three quarters of its time there). Here the kernel stays in registers (9 x 2 vectors) and each pooling window's
 * four positions are summed, activated and pooled in registers; only the pooled value, z at the winner and its place
 * are stored. The sums run in the GEMM's order (from zero, kernel element by element, then the bias) and the
 * activation and pooling are those of prelu_row and pool_window: the same bits as the general path.
 * Activations: linear, ReLU, LeakyReLU and PReLU (its alphas per position in window order, or one row for every
 * position); the others take the general path. */
static inline int first_layer_shape(const prelu_conv2d_shape *s, const prelu_conv2d_shape *pool) {
#if defined(PRELU_AVX512)
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

#if defined(PRELU_AVX512)
/* Pooled values [0, P) of one image (first_layer_in_registers), `vectors` (1 or 2) vectors of filters. `offset` is
 * window_order's input offsets, `element` the input offset of each kernel element within a window. The negative
 * slope of place q of pooled value p is slopes + (p * 4 + q) * slope_step (slope_step 0: one row for all; NULL for a
 * linear layer). With a dropout (or NULL) its mask and output are stored instead of the pooled values, which are
 * elements [index, ...) of the pooled result. */
static inline __attribute__((always_inline)) void first_layer_image(const int vectors, int f, int kd, int pooled_per_image,
                                                                     const long *offset, const long *element, const float *image,
                                                                     const float *kernel, const float *bias, const float *slopes,
                                                                     long slope_step, float *pooled, float *kept_z, float *kept_place,
                                                                     const dropout_epilogue *drop, int64_t index) {
    __mmask16 m[2];
    __m512 w[9][2], b[2];
    for (int v = 0; v < vectors; v++) {
        m[v] = lanes_mask(f - 16 * v);
        b[v] = bias ? _mm512_maskz_loadu_ps(m[v], bias + 16 * v) : _mm512_setzero_ps();
    }
#pragma GCC unroll 9
    for (int k = 0; k < 9; k++)
        for (int v = 0; v < vectors; v++) w[k][v] = k < kd ? _mm512_maskz_loadu_ps(m[v], kernel + (long)k * f + 16 * v) : _mm512_setzero_ps();
    for (int p = 0; p < pooled_per_image; p++) {
        const long *at = offset + p * 4;
        __m512 z[4][2];
#pragma GCC unroll 4
        for (int q = 0; q < 4; q++)
            for (int v = 0; v < vectors; v++) z[q][v] = _mm512_setzero_ps();
#pragma GCC unroll 9
        for (int k = 0; k < 9; k++) {
            if (k >= kd) break;
#pragma GCC unroll 4
            for (int q = 0; q < 4; q++) {
                __m512 x = _mm512_set1_ps(image[at[q] + element[k]]);
                for (int v = 0; v < vectors; v++) z[q][v] = _mm512_fmadd_ps(x, w[k][v], z[q][v]);
            }
        }
        long out = (long)p * f;
        for (int v = 0; v < vectors; v++) {
            const __m512 zv[4] = {z[0][v], z[1][v], z[2][v], z[3][v]};
            long at = out + 16 * v;
            pool_four_places(zv, m[v], bias != NULL, b[v], slopes ? slopes + p * 4 * slope_step + 16 * v : NULL, slope_step, pooled + at,
                             kept_z + at, kept_place + at, drop, index + at);
        }
    }
}

/* winograd_windows (winograd.h) with the pooling's epilogue in registers: each window's four outputs, 16 filters at
 * a time, go from the output transform to pool_four_places, and no tile of z or y is written. Window w of the chunk
 * is window first_window + w of its group's images (at0 + w f in the pooled result); its negative slopes start at
 * slopes + ((first_window + w) % pooled_per_image) * window_step, those of its place q q * place_step further. */
static void winograd_windows_pooled(const prelu_conv2d_shape *s, int count, const float *base, const long *offset, const float *u,
                                    float *scratch, const float *bias, const float *slopes, int first_window, int pooled_per_image,
                                    long window_step, long place_step, float *pooled, float *kept_z, float *kept_place,
                                    const dropout_epilogue *drop, int64_t at0) {
    int f = s->filters;
    const float *m = winograd_chunk_products(s, count, base, offset, u, scratch);
    for (int w = 0; w < count; w++) {
        int64_t at = at0 + (int64_t)w * f;
        const float *window_slopes = slopes ? slopes + ((first_window + w) % pooled_per_image) * window_step : NULL;
        for (int c0 = 0; c0 < f; c0 += 16) {
            __mmask16 k = lanes_mask(f - c0);
            __m512 z[4];
            winograd_tile_outputs(m + (long)w * f + c0, (long)WINOGRAD_TILES * f, k, z);
            pool_four_places(z, k, bias != NULL, bias ? _mm512_maskz_loadu_ps(k, bias + c0) : _mm512_setzero_ps(),
                             window_slopes ? window_slopes + c0 : NULL, place_step, pooled + at + c0, kept_z + at + c0, kept_place + at + c0,
                             drop, at + c0);
        }
    }
}
#endif

/* conv2d_pool_forward where pools_by_winners. Returns whether the dropout (if any) was applied too: the AVX-512 build
 * stores its mask and output in the pooling's epilogue; the other builds leave it to the caller. */
static int forward_by_winners(const prelu_conv2d_shape *s, const prelu_activation *act, const prelu_conv2d_shape *pool,
                              const float *input, const float *kernel, const float *bias, const float *alpha, float *z, float *y,
                              float *pooled, const prelu_dropout *dropout) {
    const dropout_epilogue *drop = NULL;
#if defined(PRELU_AVX512)
    dropout_epilogue drop_after = dropout ? dropout_epilogue_of(dropout) : (dropout_epilogue){0, 0.0f, 0.0f, NULL, NULL};
    drop = dropout ? &drop_after : NULL;
#endif
    int f = s->filters, kd = s->kernel_h * s->kernel_w * s->in_channels, window = pool->kernel_h * pool->kernel_w;
    int pooled_per_image = pool->out_h * pool->out_w, rows_per_image = pooled_per_image * window;
    long in_size = (long)s->height * s->width * s->in_channels, pooled_size = (long)pooled_per_image * f;
    int linear = act->kind == PRELU_LINEAR;
    float *kept_z = linear ? y : z, *kept_place = kept_z + s->batch * pooled_size;
    int group = images_per_product(rows_per_image), groups = (s->batch + group - 1) / group;
    /* In registers (a first layer), by Winograd's transforms (a 3x3 convolution whose tiles are the windows: the whole
     * map's conv2d_forward computes every covered output in the same tile, to the same bits), or by the product with
     * the kernel packed. */
    int in_registers = first_layer_in_registers(s, pool, act);
    int winograd = !in_registers && winograd_applies(s) && windows_are_tiles(s, pool);
    float *kernel_packed = prelu_scratch(PRELU_SCRATCH_SHARED_B, forward_kernel_floats(s, winograd));
    /* A PReLU whose alphas differ from position to position gets them laid out in window order, row for row with the
     * tile, so that a run of windows takes one call of the activation (as alphas per element) rather than one per row. */
    int by_position = act->kind == PRELU_PRELU && (act->sharing == PRELU_ALPHA_PER_ELEMENT || act->sharing == PRELU_ALPHA_MAPPED);
    float *window_alpha = by_position ? prelu_scratch(PRELU_SCRATCH_SHARED_ALPHA, (size_t)rows_per_image * f) : NULL;
    prelu_activation per_row = *act;
    per_row.sharing = PRELU_ALPHA_PER_ELEMENT;
    const prelu_activation *tile_act = by_position ? &per_row : act;
    const float *tile_alpha = by_position ? window_alpha : alpha;
    /* Winograd's outputs go straight to the pooling's epilogue in registers where the activation is a rectifier. */
    int winograd_pooled = winograd && rectifier_in_registers(act, f);
    /* In registers: each kernel element's offset within a window, and the negative slopes as one row where they do not
     * change from position to position. */
    long element[9];
    float *slope_row = (in_registers || winograd_pooled) && !by_position && !linear ? prelu_scratch(PRELU_SCRATCH_SHARED_ALPHA, (size_t)f) : NULL;
    if (in_registers) kernel_element_offsets(s, element);
    if (slope_row) rectifier_slopes(act, alpha, f, slope_row);
    const float *slopes = linear ? NULL : by_position ? window_alpha : slope_row;
    long slope_step = by_position ? f : 0;
#if !defined(PRELU_AVX512)
    (void)element, (void)slopes, (void)slope_step; /* the registers' path is the AVX-512 build's */
#endif
#pragma omp parallel num_threads(prelu_thread_count())
    {
        /* The gathered view's tables for one image, then the rows of a whole group in window order (input offsets,
         * as the view's row table), then one image's positions. */
        size_t view_longs = view_table_longs(s, 1), group_rows = (size_t)group * rows_per_image;
        long *table = (long *)prelu_scratch(PRELU_SCRATCH_COLUMNS, 2 * (view_longs + group_rows) + rows_per_image);
        long *rows = table + view_longs;
        int32_t *position = (int32_t *)(rows + group_rows);
        matrix_view a = gathered_views(s, 1, table).rows;
        window_order(s, pool, position, rows);
        for (int i = 1; i < group; i++)
            for (int r = 0; r < rows_per_image; r++) rows[(long)i * rows_per_image + r] = i * in_size + rows[r];
        a.row_table = rows;
        /* z and y of MR windows at a time (a whole number of register blocks): the products' output is activated and
         * pooled while it is in L1. */
        int chunk_windows = winograd ? WINOGRAD_TILES : MR, chunk_rows = chunk_windows * window;
        float *tile_z = prelu_scratch(PRELU_SCRATCH_DCOLUMNS, (size_t)(linear ? 1 : 2) * chunk_rows * f);
        float *tile_y = linear ? tile_z : tile_z + (size_t)chunk_rows * f;
        if (by_position) {
#pragma omp for schedule(static)
            for (int r = 0; r < rows_per_image; r++) {
                if (act->sharing == PRELU_ALPHA_PER_ELEMENT)
                    memcpy(window_alpha + (long)r * f, alpha + (long)position[r] * f, (size_t)f * sizeof(float));
                else
                    for (int c = 0; c < f; c++) window_alpha[(long)r * f + c] = alpha[alpha_index(act, position[r] * f + c)];
            }
        }
        if (in_registers) {
#if defined(PRELU_AVX512)
#pragma omp for schedule(static)
            for (int n = 0; n < s->batch; n++) {
                const float *image = input + n * in_size;
                long at = n * pooled_size;
                if (f > 16)
                    first_layer_image(2, f, kd, pooled_per_image, rows, element, image, kernel, bias, slopes, slope_step, pooled + at,
                                      kept_z + at, kept_place + at, drop, at);
                else
                    first_layer_image(1, f, kd, pooled_per_image, rows, element, image, kernel, bias, slopes, slope_step, pooled + at,
                                      kept_z + at, kept_place + at, drop, at);
            }
#endif
        } else {
            float *tiles = winograd ? prelu_scratch(PRELU_SCRATCH_PACKED_B, winograd_chunk_floats(s)) : NULL;
            forward_kernel(s, winograd, a, kernel, kernel_packed);
#pragma omp for schedule(static)
            for (int gi = 0; gi < groups; gi++) {
                int n0 = gi * group, windows = min_int(group, s->batch - n0) * pooled_per_image;
                a.data = input + n0 * in_size;
                for (int w0 = 0; w0 < windows; w0 += chunk_windows) {
                    int count = min_int(chunk_windows, windows - w0);
#if defined(PRELU_AVX512)
                    if (winograd_pooled) {
                        winograd_windows_pooled(s, count, a.data, rows + (long)w0 * window, kernel_packed, tiles, bias, slopes, w0,
                                                pooled_per_image, 4 * slope_step, slope_step, pooled, kept_z, kept_place, drop,
                                                n0 * pooled_size + (long)w0 * f);
                        continue;
                    }
#endif
                    if (winograd)
                        winograd_windows(s, count, a.data, rows + (long)w0 * window, kernel_packed, tiles, tile_z);
                    else
                        gemm_packed(count * window, f, kd, view_at(a, (long)w0 * window, 0), kernel_packed, tile_z, f, 0);
                    /* Bias and activation over the chunk's rows, a run of one image's windows at a time (the alphas
                     * start again with each image). */
                    for (int w = w0, next; w < w0 + count; w = next) {
                        next = min_int(w0 + count, (w / pooled_per_image + 1) * pooled_per_image);
                        long offset = (long)(w - w0) * window * f;
                        int first = (w % pooled_per_image) * window * f, length = (next - w) * window * f;
                        float *zs = tile_z + offset;
                        if (bias)
                            for (int r = 0; r < length; r += f)
                                for (int c = 0; c < f; c++) zs[r + c] += bias[c];
                        if (!linear) activate(tile_act, tile_alpha, first, length, zs, tile_y + offset);
                    }
                    for (int w = w0; w < w0 + count; w++) {
                        long row = (long)(w - w0) * window * f, at = n0 * pooled_size + (long)w * f;
                        pool_window(window, f, tile_z + row, tile_y + row, pooled + at, kept_z + at, kept_place + at, drop, at);
                    }
                }
            }
        }
    }
    return drop != NULL;
}

static void conv2d_pool_forward(const prelu_conv2d_shape *s, const prelu_activation *act, const prelu_conv2d_shape *pool,
                                const float *input, const float *kernel, const float *bias, const float *alpha, float *z, float *y,
                                float *pooled, const prelu_dropout *dropout) {
    int dropped = 0;
    if (pools_by_winners(s, pool))
        dropped = forward_by_winners(s, act, pool, input, kernel, bias, alpha, z, y, pooled, dropout);
    else
        conv2d_forward(s, act, pool, input, kernel, bias, alpha, z, y, pooled);
    if (dropout && !dropped)
        dropout_forward((int64_t)pool->batch * pool->out_h * pool->out_w * s->filters, dropout->rate, dropout->seed, dropout->step, pooled,
                        dropout->mask, dropout->output);
}

/* The kernel gradient's share of one image when its rows are short (a first layer's Cin = 1 gives rows of KW floats,
 * too short for vectors): the product over the covered positions, dk (KD x F) += windows^T (KD x rows) * spread
 * (rows x F), where spread holds each pooled value's dz in its winner's row and zeros in the others. `windows` reads
 * the input in place (a gathered view: its rows are the window's elements, its columns the covered positions in
 * window order); the product's work is the dense one, but over KD x F sums that stay in registers. */
static void kernel_gradient_by_product(const prelu_conv2d_shape *s, int window, int pooled_per_image, matrix_view windows,
                                       const float *dz, const float *place, float *spread, float *dk) {
    int f = s->filters, kd = s->kernel_h * s->kernel_w * s->in_channels;
    /* A few dozen rows at a time, so that the spread rows are multiplied while they are in L1. */
    int chunk = 96 / window > 1 ? 96 / window : 1;
    for (int p0 = 0; p0 < pooled_per_image; p0 += chunk) {
        int count = min_int(chunk, pooled_per_image - p0);
        for (int p = p0; p < p0 + count; p++) {
            const float *d = dz + (long)p * f, *won = place + (long)p * f;
            for (int q = 0; q < window; q++) {
                float mine = (float)q, *row = spread + ((long)(p - p0) * window + q) * f;
#pragma omp simd
                for (int c = 0; c < f; c++) row[c] = won[c] == mine ? d[c] : 0.0f;
            }
        }
        gemm(kd, f, count * window, view_at(windows, 0, (long)p0 * window), view(spread, f, 1), dk, f, 1);
    }
}

/* A first layer's activation backward done in registers with its kernel gradient (first_layer_backward_image):
 * d = z > 0 ? g : slope * g at each winner (linear: d = g), slopes from one row (ReLU's zeros, LeakyReLU's slope, a
 * channel-wise PReLU's alphas) or, for a PReLU per element, the alpha at the winner's position; a PReLU adds z g where
 * z <= 0 to its alpha gradient. Other activations (`in_registers` 0) have d computed by winners_backward first. */
typedef struct first_layer_backward {
    int in_registers, linear;
    const float *slopes;              /* one row of F, or NULL for a PReLU per element */
    const float *alpha;               /* a PReLU per element's alphas (position x F) */
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
/* A PReLU per element at the winners of one pooled value, 16 filters from c (mask m): each lane's alpha is that of its
 * winner's position (window_position[place]), gathered by masked loads, and z g is added to that alpha's gradient
 * where `rest` (z <= 0). Returns the lanes' alphas. */
static inline __m512 prelu_winners_alpha(__mmask16 m, __m512 place, int window, const int32_t *window_position, int f, int c,
                                         const float *alpha, float *da, __mmask16 rest, __m512 zg) {
    __m512 slope = _mm512_setzero_ps();
    for (int q = 0; q < window; q++) {
        __mmask16 mine = _mm512_mask_cmp_ps_mask(m, place, _mm512_set1_ps((float)q), _CMP_EQ_OQ), adds = mine & rest;
        long cell = (long)window_position[q] * f + c;
        slope = _mm512_mask_loadu_ps(slope, mine, alpha + cell);
        _mm512_mask_storeu_ps(da + cell, adds, _mm512_add_ps(_mm512_maskz_loadu_ps(adds, da + cell), zg));
    }
    return slope;
}

/* One image of a first layer's backward (first_layer_shape), in registers: dL/dz at each winner (from dpooled, times
 * the dropout's mask if there is one, and the kept z as `how` says, with the bias and alpha sums; or read from dz where
 * winners_backward computed it), then
 * the kernel gradient: dk (KD x F, 9 x 2 vectors at most) += each winner's window times its dz, place by place, the
 * dz of the filters another place won masked to zero (as kernel_gradient_by_product's spread rows hold zeros). With
 * `patches` (first_layer_reads_patches, a constant in each expansion) the pooling window's 4x4 patch of the input is
 * loaded into one vector and each lane permutes its own winner's window out of it: one multiply-add per kernel element
 * and vector of filters instead of one per place, the same sums (the places it skips added exact zeros). The image's
 * kernel sums start from zero and are then added to dk. `offset` and `position` are window_order's; `width` is the
 * input's. */
static inline __attribute__((always_inline)) void first_layer_backward_image(const int vectors, const int patches, long width, int f, int kd,
                                                                              int pooled_per_image,
                                                                              const long *offset, const int32_t *position, const long *element,
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
                        float *row = da + 16 * v;
                        _mm512_mask_storeu_ps(row, rest, _mm512_add_ps(_mm512_maskz_loadu_ps(rest, row), zg));
                    }
                } else {
                    slope = prelu_winners_alpha(m[v], won[v], 4, position + p * 4, f, 16 * v, how.alpha, da, rest, zg);
                }
                d[v] = _mm512_mask_mov_ps(_mm512_mul_ps(slope, g), positive, g);
            }
            _mm512_mask_storeu_ps(db + 16 * v, m[v], _mm512_add_ps(_mm512_maskz_loadu_ps(m[v], db + 16 * v), d[v]));
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

/* Two ways a row of `len` floats (a row of a convolution's window) meets the rows of several winners:
 * add_scaled_rows:   acc[0, len) += the sum over i < count, in order, of g[i] * rows[i][at, at + len)
 * add_scaled_row_to: rows[i][at, at + len) += g[i] * row[0, len), for each i < count in order
 * In the AVX-512 build the row that stays (acc, or row) is held in up to 8 registers at a time while the winners'
 * rows stream past: `vectors` is a constant in each expansion (the switch below), so its loops unroll and the array
 * lives in registers. The other builds add through memory. */
#if defined(PRELU_AVX512)
#define ROW_VECTORS 8

/* `vectors` whole vectors (a constant in each expansion), then, where `tail` has lanes, one vector through that mask:
 * masked stores only where a row ends inside a vector (a masked store does not forward to the next load of the same
 * place, and rows of neighbouring windows overlap). */
static inline __attribute__((always_inline)) void scaled_rows_block(const int vectors, __mmask16 tail, int to_rows, int count,
                                                                    const float *g, float *base, const long *offset, long at,
                                                                    float *row) {
    __m512 held[ROW_VECTORS], held_tail = _mm512_maskz_loadu_ps(tail, row + 16 * vectors);
#pragma GCC unroll 8
    for (int v = 0; v < vectors; v++) held[v] = _mm512_loadu_ps(row + 16 * v);
    for (int i = 0; i < count; i++) {
        __m512 gi = _mm512_set1_ps(g[i]);
        float *x = base + offset[i] + at;
#pragma GCC unroll 8
        for (int v = 0; v < vectors; v++) {
            if (to_rows)
                _mm512_storeu_ps(x + 16 * v, _mm512_fmadd_ps(gi, held[v], _mm512_loadu_ps(x + 16 * v)));
            else
                held[v] = _mm512_fmadd_ps(gi, _mm512_loadu_ps(x + 16 * v), held[v]);
        }
        if (tail) {
            __m512 xv = _mm512_maskz_loadu_ps(tail, x + 16 * vectors);
            if (to_rows)
                _mm512_mask_storeu_ps(x + 16 * vectors, tail, _mm512_fmadd_ps(gi, held_tail, xv));
            else
                held_tail = _mm512_fmadd_ps(gi, xv, held_tail);
        }
    }
    if (!to_rows) {
#pragma GCC unroll 8
        for (int v = 0; v < vectors; v++) _mm512_storeu_ps(row + 16 * v, held[v]);
        _mm512_mask_storeu_ps(row + 16 * vectors, tail, held_tail);
    }
}

static inline void scaled_rows(int len, int to_rows, int count, const float *g, float *base, const long *offset, long at, float *row) {
    for (int j0 = 0; j0 < len; j0 += 16 * ROW_VECTORS) {
        int left = min_int(len - j0, 16 * ROW_VECTORS), vectors = left / 16, lanes = left % 16;
        __mmask16 tail = lanes_mask(lanes);
        switch (vectors) {
#define ROWS_CASE(n)                                                                                                   \
    case n: scaled_rows_block(n, tail, to_rows, count, g, base, offset, at + j0, row + j0); break;
            ROWS_CASE(0) ROWS_CASE(1) ROWS_CASE(2) ROWS_CASE(3) ROWS_CASE(4) ROWS_CASE(5) ROWS_CASE(6) ROWS_CASE(7) ROWS_CASE(8)
#undef ROWS_CASE
        }
    }
}
#else
static inline void scaled_rows(int len, int to_rows, int count, const float *g, float *base, const long *offset, long at, float *row) {
    for (int i = 0; i < count; i++) {
        float *x = base + offset[i] + at, gi = g[i];
        if (to_rows) {
#pragma omp simd
            for (int j = 0; j < len; j++) x[j] += gi * row[j];
        } else {
#pragma omp simd
            for (int j = 0; j < len; j++) row[j] += gi * x[j];
        }
    }
}
#endif

static inline void add_scaled_rows(int len, int count, const float *g, const float *base, const long *offset, long at, float *acc) {
    scaled_rows(len, 0, count, g, (float *)base, offset, at, acc); /* base is only read */
}

static inline void add_scaled_row_to(int len, int count, const float *g, const float *row, float *base, const long *offset, long at) {
    scaled_rows(len, 1, count, g, base, offset, at, (float *)row); /* row is only read */
}

/* One image's winners filter by filter: g_t (F x P) their dz, at (F x P) the input offset of their windows. */
static void winners_by_filter(const prelu_conv2d_shape *s, int window, int pooled_per_image, const long *input_offset,
                              const float *dz, const float *place, float *g_t, long *at) {
    int f = s->filters;
    for (int p = 0; p < pooled_per_image; p++)
        for (int c = 0; c < f; c++) {
            g_t[(long)c * pooled_per_image + p] = dz[(long)p * f + c];
            at[(long)c * pooled_per_image + p] = input_offset[p * window + (int)place[(long)p * f + c]];
        }
}

/* The kernel gradient's share of one image, filter by filter (the rows are long enough for vectors): each winner adds
 * its input window times its dz to its filter's KD sums (dk_t is F x KD, transposed), a row of the window at a time
 * for all of the filter's winners. */
static void kernel_gradient_by_winners(const prelu_conv2d_shape *s, int pooled_per_image, const float *image, const float *g_t,
                                       const long *at, float *dk_t) {
    int kd = s->kernel_h * s->kernel_w * s->in_channels, run = s->kernel_w * s->in_channels;
    long line = (long)s->width * s->in_channels;
    for (int c = 0; c < s->filters; c++) {
        long first = (long)c * pooled_per_image;
        for (int ky = 0; ky < s->kernel_h; ky++)
            add_scaled_rows(run, pooled_per_image, g_t + first, image, at + first, ky * line, dk_t + (long)c * kd + ky * run);
    }
}

/* The input gradient of one image: each winner adds its filter's kernel (a row of kernel_t, F x KD) times its dz
 * to its window, a row of the window at a time for all of the filter's winners. */
static void input_gradient_by_winners(const prelu_conv2d_shape *s, int pooled_per_image, const float *g_t, const long *at,
                                      const float *kernel_t, float *dimage) {
    int kd = s->kernel_h * s->kernel_w * s->in_channels, run = s->kernel_w * s->in_channels;
    long line = (long)s->width * s->in_channels;
    memset(dimage, 0, (size_t)s->height * s->width * s->in_channels * sizeof(float));
    for (int c = 0; c < s->filters; c++) {
        long first = (long)c * pooled_per_image;
        for (int ky = 0; ky < s->kernel_h; ky++)
            add_scaled_row_to(run, pooled_per_image, g_t + first, kernel_t + (long)c * kd + ky * run, dimage, at + first, ky * line);
    }
}

/* The input gradient pooling window by pooling window, for the commonest shape: a 3x3 convolution of stride 1 under
 * 2x2 pooling (input_gradient_by_patches). A pooling window's four 3x3 input windows lie in a 4x4 patch of the
 * input; in the AVX-512 build sixteen registers hold the patch (16 channels at a time) while every winner of the
 * window adds its filter's kernel, times its dz, at its place; then the patch is added to the input gradient once.
 * By filter (input_gradient_by_winners) each winner updated its nine rows of the input gradient in memory: 18 loads
 * and stores of vectors per winner, against 9 loads of the kernel here. The winners of each window are first sorted
 * by place, so that the place, which fixes the registers a winner adds to, is a constant of the loop; and the kernel
 * is laid out 16 channels at a time (patch_kernel), so that one pass over an image's windows reads a 16-channel slice
 * of it that stays in L1 (the whole kernel, 73 KB for 32 -> 64 channels, does not). */
static inline int input_gradient_by_patches(const prelu_conv2d_shape *s, const prelu_conv2d_shape *pool) {
#if defined(PRELU_AVX512)
    return s->kernel_h == 3 && s->kernel_w == 3 && s->stride_y == 1 && s->stride_x == 1 && pool->kernel_h == 2 && pool->kernel_w == 2;
#else
    (void)s, (void)pool;
    return 0;
#endif
}

/* Floats of the kernel laid out for the patches: slices of 16 input channels (the last one zero-padded), each F x 9 x 16. */
static inline size_t patch_kernel_floats(const prelu_conv2d_shape *s) { return (size_t)s->filters * 9 * round_up(s->in_channels, 16); }

/* Floats (and as many ints) of scratch for one image's winners sorted by place: one per pooled value, and a vector's slack. */
static inline size_t patch_winners_floats(int pooled_per_image, int f) { return (size_t)pooled_per_image * f + 16; }

/* kernel (KH, KW, Cin, F) into patch_kernel's layout; the slices of 16 input channels shared out between the threads. */
static void patch_kernel(const prelu_conv2d_shape *s, const float *kernel, float *dst) {
    int f = s->filters, cin = s->in_channels, slices = (cin + 15) / 16;
#pragma omp for schedule(static)
    for (int h = 0; h < slices * f; h++) {
        int slice = h / f, c = h % f;
        for (int k = 0; k < 9; k++)
            for (int lane = 0; lane < 16; lane++) {
                int channel = slice * 16 + lane;
                dst[((long)h * 9 + k) * 16 + lane] = channel < cin ? kernel[((long)k * cin + channel) * f + c] : 0.0f;
            }
    }
}

/* One image's winners sorted by place: dz and filter (patch_winners_floats each), and 4 counts per pooled value. */
typedef struct patch_winners {
    float *g;
    int32_t *filter, *count;
} patch_winners;

#if defined(PRELU_AVX512)
/* The `count` winners at place (qy, qx) add g times their filter's kernel (one slice of patch_kernel) into the patch. */
static inline __attribute__((always_inline)) void patch_add_place(const int qy, const int qx, __m512 patch[16], int count, const float *g,
                                                                  const int32_t *filter, const float *slice) {
    for (int i = 0; i < count; i++) {
        __m512 gi = _mm512_set1_ps(g[i]);
        const float *w = slice + filter[i] * (9 * 16);
#pragma GCC unroll 3
        for (int ky = 0; ky < 3; ky++)
#pragma GCC unroll 3
            for (int kx = 0; kx < 3; kx++) {
                __m512 *at = &patch[(qy + ky) * 4 + qx + kx];
                *at = _mm512_fmadd_ps(gi, _mm512_loadu_ps(w + (ky * 3 + kx) * 16), *at);
            }
    }
}

/* One image's input gradient from its dL/dz at the winners (dz and place, P x F) and the kernel in patch_kernel's
 * layout. */
static void input_gradient_of_patches(const prelu_conv2d_shape *s, int pooled_per_image, const long *input_offset, const float *dz,
                                      const float *place, const float *kernel_p, float *dimage, patch_winners sorted) {
    float *g = sorted.g;
    int32_t *filter = sorted.filter, *count = sorted.count;
    int f = s->filters, cin = s->in_channels;
    long line = (long)s->width * cin;
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    memset(dimage, 0, (size_t)s->height * s->width * cin * sizeof(float));
    /* Each window's winners (dz and filter) sorted by place, compressed in registers and stored whole: the next store
     * overwrites the lanes past a count. */
    for (int p = 0, at = 0; p < pooled_per_image; p++) {
        const float *d = dz + (long)p * f, *won = place + (long)p * f;
        for (int q = 0; q < 4; q++) {
            int first = at;
            for (int c = 0; c < f; c += 16) {
                __mmask16 m = lanes_mask(f - c);
                __mmask16 mine = _mm512_mask_cmp_ps_mask(m, _mm512_maskz_loadu_ps(m, won + c), _mm512_set1_ps((float)q), _CMP_EQ_OQ);
                _mm512_storeu_ps(g + at, _mm512_maskz_compress_ps(mine, _mm512_maskz_loadu_ps(m, d + c)));
                _mm512_storeu_si512(filter + at, _mm512_maskz_compress_epi32(mine, _mm512_add_epi32(lane, _mm512_set1_epi32(c))));
                at += __builtin_popcount(mine);
            }
            count[p * 4 + q] = at - first;
        }
    }
    for (int c0 = 0; c0 < cin; c0 += 16) {
        __mmask16 m = lanes_mask(cin - c0);
        const float *slice = kernel_p + (long)(c0 / 16) * f * 9 * 16;
        for (int p = 0, at = 0; p < pooled_per_image; p++) {
            __m512 patch[16];
#pragma GCC unroll 16
            for (int i = 0; i < 16; i++) patch[i] = _mm512_setzero_ps();
            const int32_t *n = count + p * 4;
            patch_add_place(0, 0, patch, n[0], g + at, filter + at, slice);
            at += n[0];
            patch_add_place(0, 1, patch, n[1], g + at, filter + at, slice);
            at += n[1];
            patch_add_place(1, 0, patch, n[2], g + at, filter + at, slice);
            at += n[2];
            patch_add_place(1, 1, patch, n[3], g + at, filter + at, slice);
            at += n[3];
            /* Neighbouring patches overlap: whole vectors are stored unmasked, which forwards to the next patch's loads. */
            float *corner = dimage + input_offset[(long)p * 4] + c0;
#pragma GCC unroll 16
            for (int i = 0; i < 16; i++) {
                float *x = corner + (i / 4) * line + (i % 4) * cin;
                __m512 sum = _mm512_add_ps(_mm512_maskz_loadu_ps(m, x), patch[i]);
                if (m == (__mmask16)0xFFFF)
                    _mm512_storeu_ps(x, sum);
                else
                    _mm512_mask_storeu_ps(x, m, sum);
            }
        }
    }
}
#endif

/* dL/dz of one pooled value's winners (f filters): g (dL/dpooled) becomes d, with the bias and alpha sums. The
 * activation's backward runs on the row as a layer's epilogue does. A PReLU with an alpha per element takes each
 * winner's alpha at its position (in one pass with masked loads in the AVX-512 build, else once per place of the
 * window, on the filters that place won); one with irregularly shared alphas
 * gathers each winner's alpha into a row and afterwards adds the row's alpha gradients back. `row` is scratch for 2 f
 * floats and f ints. */
static void winners_backward(const prelu_activation *act, const float *alpha, int f, int window, const int32_t *window_position,
                             const float *kz, const float *won, const float *g, float *d, float *db, float *da, float *row) {
    if (act->kind == PRELU_PRELU && act->sharing == PRELU_ALPHA_PER_ELEMENT) {
#if defined(PRELU_AVX512)
        /* In one pass: each lane's alpha (and alpha gradient) is its winner's position's. */
        for (int c = 0; c < f; c += 16) {
            __mmask16 m = lanes_mask(f - c);
            __m512 z = _mm512_maskz_loadu_ps(m, kz + c), gc = _mm512_maskz_loadu_ps(m, g + c), place = _mm512_maskz_loadu_ps(m, won + c);
            __mmask16 positive = _mm512_cmp_ps_mask(z, _mm512_setzero_ps(), _CMP_GT_OQ), rest = m & (__mmask16)~positive;
            __m512 slope = prelu_winners_alpha(m, place, window, window_position, f, c, alpha, da, rest, _mm512_mul_ps(z, gc));
            _mm512_mask_storeu_ps(d + c, m, _mm512_mask_mov_ps(_mm512_mul_ps(slope, gc), positive, gc));
        }
#else
        for (int q = 0; q < window; q++) {
            long first = (long)window_position[q] * f;
            prelu_row_backward_at(kz, alpha + first, won, (float)q, g, d, da + first, f);
        }
#endif
    } else if (act->kind == PRELU_PRELU && act->sharing == PRELU_ALPHA_MAPPED) {
        float *a_row = row, *da_row = row + f;
        int32_t *index = (int32_t *)(row + 2 * f);
        for (int c = 0; c < f; c++) {
            index[c] = alpha_index(act, window_position[(int)won[c]] * f + c);
            a_row[c] = alpha[index[c]];
            da_row[c] = 0.0f;
        }
        memcpy(d, g, (size_t)f * sizeof(float));
        prelu_row_backward(kz, a_row, d, da_row, f);
        for (int c = 0; c < f; c++) da[index[c]] += da_row[c];
    } else {
        /* Every place of the window has the same alphas (or none): the first place's stand for all. */
        memcpy(d, g, (size_t)f * sizeof(float));
        bias_activate_backward(act, alpha, window_position[0] * f, f, kz, d, db, da);
        return;
    }
    for (int c = 0; c < f; c++) db[c] += d[c];
}

/* One image's kernel gradient (into dk: KD x F by product, F x KD by winners) and input gradient (into dimage, when
 * there is one), from its dL/dz at the winners. kernel_t is the kernel as the input gradient reads it: in
 * patch_kernel's layout when `patches` (input_gradient_by_patches), else F x KD. */
static void image_gradients(const prelu_conv2d_shape *s, int window, int pooled_per_image, int by_product, int patches, matrix_view windows,
                            const long *input_offset, const float *image, const float *dz, const float *place, const float *kernel_t,
                            float *dimage, float *spread, float *g_t, long *at, patch_winners sorted, float *dk) {
    if (by_product) {
        windows.data = image;
        kernel_gradient_by_product(s, window, pooled_per_image, windows, dz, place, spread, dk);
    }
#if defined(PRELU_AVX512)
    if (dimage && patches) {
        input_gradient_of_patches(s, pooled_per_image, input_offset, dz, place, kernel_t, dimage, sorted);
        dimage = NULL;
    }
#else
    (void)patches, (void)sorted;
#endif
    if (!by_product || dimage) winners_by_filter(s, window, pooled_per_image, input_offset, dz, place, g_t, at);
    if (!by_product) kernel_gradient_by_winners(s, pooled_per_image, image, g_t, at, dk);
    if (dimage) input_gradient_by_winners(s, pooled_per_image, g_t, at, kernel_t, dimage);
}

/* Backward over the kept winners: dL/dz at every winner (into dy's memory, compact (N, PH, PW, F)), with the bias and
 * alpha gradients, then the kernel and input gradients image by image. dx may share dpooled's memory, so with an
 * input gradient all of dpooled is read before any of dx is written. */
static void conv2d_pool_backward(const prelu_conv2d_shape *s, const prelu_activation *act, const prelu_conv2d_shape *pool,
                                 const float *input, const float *kernel, const float *alpha, const float *z, const float *y,
                                 float *dpooled, const float *dropout_mask, float *dy, float *dx, float *dkernel, float *dbias,
                                 float *dalpha) {
    if (!pools_by_winners(s, pool)) {
        /* Back through the dropout first, in place (dpooled is workspace then). */
        if (dropout_mask) dropout_backward((int64_t)pool->batch * pool->out_h * pool->out_w * s->filters, dropout_mask, dpooled, dpooled);
        conv2d_backward(s, act, pool, input, kernel, alpha, z, y, dpooled, dy, dx, dkernel, dbias, dalpha);
        return;
    }
    int f = s->filters, kd = s->kernel_h * s->kernel_w * s->in_channels, window = pool->kernel_h * pool->kernel_w;
    int pooled_per_image = pool->out_h * pool->out_w, rows_per_image = pooled_per_image * window;
    long in_size = (long)s->height * s->width * s->in_channels, pooled_size = (long)pooled_per_image * f;
    int linear = act->kind == PRELU_LINEAR;
    const float *kept_z = linear ? y : z, *kept_place = kept_z + s->batch * pooled_size;
    float *dz = dy;
    /* Rows of the window shorter than a vector of the widest build take the product over the covered positions. */
    int by_product = s->kernel_w * s->in_channels < 16, patches = dx && input_gradient_by_patches(s, pool);
    /* A first layer (no input gradient) image by image in registers: the kernel elements' offsets in a window, and how
     * its activation's backward is done there. */
    long element[9];
    float slope_row[32];
    int first_layer = dx == NULL && by_product && first_layer_shape(s, pool);
    first_layer_backward how = {0, 0, NULL, NULL, 0};
    int first_layer_patches = first_layer && first_layer_reads_patches(s, pool);
    (void)first_layer_patches; /* the registers' path is the AVX-512 build's */
    if (first_layer) {
        kernel_element_offsets(s, element);
        rectifier_slopes(act, alpha, f, slope_row);
        how = first_layer_backward_of(s, act, alpha, slope_row);
    }
    int threads = prelu_thread_count(), alpha_length = act->kind == PRELU_PRELU ? act->alpha_length : 0;
    long per_thread = (long)kd * f + f + alpha_length;
    float *partials = thread_partials(threads, per_thread);
    float *kernel_t = dx ? prelu_scratch(PRELU_SCRATCH_SHARED_B, patches ? patch_kernel_floats(s) : (size_t)f * kd) : NULL;
#pragma omp parallel num_threads(threads)
    {
        int t = omp_get_thread_num();
        float *dk = partials + t * per_thread;
        float *db = dk + (long)kd * f, *da = db + f;
        /* The windows' view (its tables for one image), then the covered positions' input offsets and positions. */
        size_t view_longs = view_table_longs(s, 1);
        long *table = (long *)prelu_scratch(PRELU_SCRATCH_COLUMNS, 2 * (view_longs + rows_per_image) + rows_per_image);
        long *input_offset = table + view_longs;
        int32_t *position = (int32_t *)(input_offset + rows_per_image);
        window_order(s, pool, position, input_offset);
        matrix_view windows = gathered_views(s, 1, table).columns;
        windows.run = 1;
        windows.run_table = input_offset;
        /* 4 f floats of row scratch (winners_backward's 3 f, then a pooled row's gradient through the dropout); one
         * image's winners by filter (their dz, then their windows' offsets), or the spread dz of one image; then, for
         * the patches, one image's winners sorted by place. */
        size_t winners_floats = 3 * (size_t)pooled_size + 1, patch_floats = patches ? patch_winners_floats(pooled_per_image, f) : 0;
        if (by_product && (size_t)rows_per_image * f > winners_floats) winners_floats = (size_t)rows_per_image * f;
        float *row = prelu_scratch(PRELU_SCRATCH_POOLING, 4 * (size_t)f + winners_floats + 2 * patch_floats + (patches ? 4 * pooled_per_image : 0));
        float *dropped = row + 3 * f; /* a pooled row's gradient taken back through the dropout */
        float *g_t = row + 4 * f, *spread = g_t;
        long *at = (long *)(row + ((4 * f + pooled_size + 1) & ~1)); /* longs at an even float */
        patch_winners sorted = {row + 4 * f + winners_floats, NULL, NULL};
        sorted.filter = (int32_t *)(sorted.g + patch_floats);
        sorted.count = sorted.filter + patch_floats;
        /* Without an input gradient nothing overwrites dpooled, so each image goes on to its kernel gradient right
         * after its dL/dz, while both are in cache (a first layer); otherwise all of dpooled is read first. */
        int image_by_image = dx == NULL;
#pragma omp for schedule(static)
        for (int n = 0; n < s->batch; n++) {
            long image = n * pooled_size;
            if (!(first_layer && how.in_registers))
                for (int p = 0; p < pooled_per_image; p++) {
                    long here = image + (long)p * f;
                    const float *g = dpooled + here;
                    if (dropout_mask) {
#pragma omp simd
                        for (int c = 0; c < f; c++) dropped[c] = g[c] * dropout_mask[here + c];
                        g = dropped;
                    }
                    winners_backward(act, alpha, f, window, position + p * window, linear ? NULL : kept_z + here, kept_place + here, g,
                                     dz + here, db, da, row);
                }
#if defined(PRELU_AVX512)
            if (first_layer) {
                const float *kz = linear ? NULL : kept_z + image, *mask = dropout_mask ? dropout_mask + image : NULL;
#define FIRST_LAYER_BACKWARD(vectors, patches)                                                                            \
    first_layer_backward_image(vectors, patches, s->width, f, kd, pooled_per_image, input_offset, position, element, input + n * in_size, \
                               how, dpooled + image, mask, kz, dz + image, kept_place + image, dk, db, da)
                if (f > 16 && first_layer_patches)
                    FIRST_LAYER_BACKWARD(2, 1);
                else if (f > 16)
                    FIRST_LAYER_BACKWARD(2, 0);
                else if (first_layer_patches)
                    FIRST_LAYER_BACKWARD(1, 1);
                else
                    FIRST_LAYER_BACKWARD(1, 0);
#undef FIRST_LAYER_BACKWARD
                continue;
            }
#endif
            if (image_by_image)
                image_gradients(s, window, pooled_per_image, by_product, 0, windows, input_offset, input + n * in_size, dz + image,
                                kept_place + image, NULL, NULL, spread, g_t, at, sorted, dk);
        }
        if (!image_by_image) {
            if (patches) {
                patch_kernel(s, kernel, kernel_t);
            } else {
#pragma omp for schedule(static)
                for (int c = 0; c < f; c++)
                    for (int k = 0; k < kd; k++) kernel_t[(long)c * kd + k] = kernel[(long)k * f + c];
            }
#pragma omp for schedule(static)
            for (int n = 0; n < s->batch; n++)
                image_gradients(s, window, pooled_per_image, by_product, patches, windows, input_offset, input + n * in_size,
                                dz + n * pooled_size, kept_place + n * pooled_size, kernel_t, dx + n * in_size, spread, g_t, at, sorted, dk);
        }
    }
    if (by_product) {
        add_thread_partials(dkernel, partials, threads, per_thread, 0, (long)kd * f);
    } else if (dkernel) {
        /* By winners each thread kept its sums transposed (F x KD); added in thread order all the same. */
        for (int k = 0; k < kd; k++)
            for (int c = 0; c < f; c++) {
                float sum = partials[(long)c * kd + k];
                for (int t = 1; t < threads; t++) sum += partials[t * per_thread + (long)c * kd + k];
                dkernel[(long)k * f + c] = sum;
            }
    }
    add_thread_partials(dbias, partials, threads, per_thread, (long)kd * f, f);
    add_thread_partials(dalpha, partials, threads, per_thread, (long)kd * f + f, alpha_length);
}
