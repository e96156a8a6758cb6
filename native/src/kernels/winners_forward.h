/* winners_forward.h: the pooled convolution's forward where the pooling keeps its winners (pools_by_winners): window by
 * window into a tile of the thread's scratch, by Winograd's transforms with the pooling in registers where the windows
 * are its tiles (F(2x2, 3x3): a window a tile; F(4x4, 3x3): four), or by the first layer's registers; only the pooled
 * values, z at each winner and its place are kept. */

/* Windows of a 2x2 max pooling of stride 2 by F(4x4, 3x3) (winograd4.h) wherever the whole map's conv2d_forward takes it
 * (winograd4_pays: the choice is the map's, so that the two give the same bits): a 4x4 tile of outputs is the quad of
 * windows (2 qy + a, 2 qx + b) for a and b in {0, 1}, and its patch the one the whole map's tile at (4 qy, 4 qx) reads.
 * A quad at an odd pooled map's edge computes windows the pooling leaves out (and their outputs are not stored). */
typedef struct {
    int per_row, per_image; /* quads in a row of the pooled map, and in an image */
} winograd4_quads;

static inline winograd4_quads winograd4_quads_of(const prelu_conv2d_shape *pool) {
    int per_row = (pool->out_w + 1) / 2;
    return (winograd4_quads){per_row, ((pool->out_h + 1) / 2) * per_row};
}

#if defined(PRELU_AVX2)

/* winograd_windows (winograd.h) with the pooling's epilogue in registers: each window's four outputs, a vector of
 * filters at a time, go from the output transform to pool_four_places, and no tile of z or y is written. Window w of the chunk
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
        for (int c0 = 0; c0 < f; c0 += VL) {
            vmask k = vmask_lanes(f - c0);
            vfloat z[4];
            winograd_tile_outputs(m + winograd_tile_offset(16, f, w) + c0, f, k, z);
            pool_four_places(z, k, bias != NULL, bias ? vload(k, bias + c0) : vzero(),
                             window_slopes ? window_slopes + c0 : NULL, place_step, pooled + at + c0, kept_z + at + c0, kept_place + at + c0,
                             drop, at + c0);
        }
    }
}

/* The patches and products of `count` (at most WINOGRAD_TILES) quads from quad `first` of a group's images (`in_size`
 * floats apart from `input`): returns M (in the scratch; quad t's rows at M + winograd_tile_offset(36, F, t)). */
static const float *winograd4_quad_products(const prelu_conv2d_shape *s, winograd4_quads quads, int first, int count, const float *input,
                                            long in_size, const float *u, float *scratch) {
    int cin = s->in_channels, f = s->filters;
    float *v = scratch, *m = scratch + (size_t)36 * WINOGRAD_TILES * cin;
    for (int t = 0; t < count; t++) {
        int image = (first + t) / quads.per_image, quad = (first + t) % quads.per_image;
        int oy = quad / quads.per_row * 4, ox = quad % quads.per_row * 4;
        winograd4_map_patch(s, input + image * in_size, oy, ox, v + winograd_tile_offset(36, cin, t), cin, 0);
    }
    prelu_count_flops((int64_t)WINOGRAD4_PATCH_FLOPS * count * cin + (int64_t)WINOGRAD4_OUTPUT_FLOPS * count * f);
    winograd_products(36, s, count, v, u, m);
    return m;
}

/* The windows of quad `quad` of its image that lie in the pooled map: for each, its index in the image (`window`) and
 * where its four outputs are in the tile's sixteen (`output`, places in window order). Returns how many. */
static inline int winograd4_quad_windows(const prelu_conv2d_shape *pool, winograd4_quads quads, int quad, int window[4], int output[4]) {
    int qy = quad / quads.per_row, qx = quad % quads.per_row, n = 0;
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++) {
            int py = 2 * qy + a, px = 2 * qx + b;
            if (py >= pool->out_h || px >= pool->out_w) continue;
            window[n] = py * pool->out_w + px;
            output[n++] = 2 * a * 4 + 2 * b;
        }
    return n;
}

/* The four outputs of a window from its tile's sixteen: places in window order. */
static inline __attribute__((always_inline)) void winograd4_window_places(const vfloat z[16], int output, vfloat four[4]) {
    four[0] = z[output], four[1] = z[output + 1], four[2] = z[output + 4], four[3] = z[output + 5];
}

/* What the pooling's epilogue reads and writes for a group of images (forward_by_winners): in registers (pool_four_places)
 * where `in_registers`, else through the tile's passes (the bias, the activation over tile_z into tile_y, pool_window). */
typedef struct {
    int in_registers;
    const float *bias, *slopes; /* slopes: a window's at slopes + window * 4 slope_step, NULL for a linear layer */
    long slope_step;
    const prelu_activation *act; /* the tile's passes */
    const float *alpha;
    float *tile_z, *tile_y;
    float *pooled, *kept_z, *kept_place;
    const dropout_epilogue *drop;
} pooling_epilogue;

/* One group's windows by quads: `images` images from `input` (`in_size` floats apart), their pooled values from
 * element at0 of the pooled result on. The tile's passes take a chunk's windows one at a time, in the order the quads
 * give them. */
static void winograd4_group_pooled(const prelu_conv2d_shape *s, const prelu_conv2d_shape *pool, int images, const float *input, long in_size,
                                   const float *u, float *scratch, const pooling_epilogue *e, int64_t at0) {
    int f = s->filters, pooled_per_image = pool->out_h * pool->out_w;
    winograd4_quads quads = winograd4_quads_of(pool);
    int all = images * quads.per_image;
    int64_t pooled_size = (int64_t)pooled_per_image * f;
    for (int t0 = 0; t0 < all; t0 += WINOGRAD_TILES) {
        int count = min_int(WINOGRAD_TILES, all - t0), stored = 0;
        int64_t stored_at[4 * WINOGRAD_TILES];
        int stored_window[4 * WINOGRAD_TILES];
        const float *m = winograd4_quad_products(s, quads, t0, count, input, in_size, u, scratch);
        for (int t = 0; t < count; t++) {
            int image = (t0 + t) / quads.per_image, window[4], output[4];
            int windows = winograd4_quad_windows(pool, quads, (t0 + t) % quads.per_image, window, output);
            for (int c0 = 0; c0 < f; c0 += VL) {
                vmask k = vmask_lanes(f - c0);
                vfloat z[16], four[4];
                winograd4_tile_outputs(m + winograd_tile_offset(36, f, t) + c0, f, k, z);
                for (int w = 0; w < windows; w++) {
                    int64_t at = at0 + image * pooled_size + (int64_t)window[w] * f;
                    winograd4_window_places(z, output[w], four);
                    if (e->in_registers) {
                        pool_four_places(four, k, e->bias != NULL, e->bias ? vload(k, e->bias + c0) : vzero(),
                                         e->slopes ? e->slopes + window[w] * 4 * e->slope_step + c0 : NULL, e->slope_step, e->pooled + at + c0,
                                         e->kept_z + at + c0, e->kept_place + at + c0, e->drop, at + c0);
                    } else {
                        float *rows = e->tile_z + (long)(stored + w) * 4 * f + c0;
                        for (int q = 0; q < 4; q++) vstore(rows + (long)q * f, k, four[q]);
                    }
                }
            }
            if (!e->in_registers)
                for (int w = 0; w < windows; w++, stored++) {
                    stored_at[stored] = at0 + image * pooled_size + (int64_t)window[w] * f;
                    stored_window[stored] = window[w];
                }
        }
        /* The tile's passes, window by window: the bias, the activation (its alphas from the window's first place on), the
         * pooling. */
        for (int w = 0; w < stored; w++) {
            long row = (long)w * 4 * f;
            float *zs = e->tile_z + row;
            if (e->bias)
                for (int r = 0; r < 4 * f; r += f)
                    for (int c = 0; c < f; c++) zs[r + c] += e->bias[c];
            if (e->act->kind != PRELU_LINEAR) activate(e->act, e->alpha, stored_window[w] * 4 * f, 4 * f, zs, e->tile_y + row);
            int64_t at = stored_at[w];
            pool_window(4, f, zs, e->tile_y + row, e->pooled + at, e->kept_z + at, e->kept_place + at, e->drop, at);
        }
    }
}
#endif

/* conv2d_pool_forward where pools_by_winners. Returns whether the dropout (if any) was applied too: the AVX-512 build
 * stores its mask and output in the pooling's epilogue; the other builds leave it to the caller. (The AVX2 build's
 * epilogue with the dropout's hash, 8 lanes of the same 32-bit arithmetic, measured slower than the caller's pass on a
 * Zen 3: the study's first layer's forward 2.1-2.2 -> 3.8-4.3 ms, its 16 registers spilling.) */
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
    /* In registers (a first layer), by Winograd's transforms (a 3x3 convolution whose tiles are the windows: the whole
     * map's conv2d_forward computes every covered output in the same tile, to the same bits), or by the product with
     * the kernel packed. */
    int in_registers = first_layer_in_registers(s, pool, act);
    int winograd = !in_registers && winograd_applies(s) && windows_are_tiles(s, pool);
    int quads = winograd && winograd4_pays(s); /* F(4x4, 3x3): four windows a tile */
    /* Images whose rows go through the products together; the quads' group fills their chunks (a tile's outputs are the
     * same bits in any chunk). */
    int group = quads ? winograd_images_per_group(winograd4_quads_of(pool).per_image) : images_per_product(rows_per_image);
    int groups = (s->batch + group - 1) / group;
    int kernel_form = quads ? FORWARD_WINOGRAD4 : winograd ? FORWARD_WINOGRAD : FORWARD_PATCHES;
    int kernel_current = 1;
    float *kernel_packed = in_registers ? NULL : forward_kernel_form(s, kernel_form, 1, kernel, &kernel_current);
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
#if !defined(PRELU_AVX2)
    (void)element, (void)slopes, (void)slope_step; /* the registers' paths are the AVX-512 and AVX2 builds' */
#endif
    /* No more threads than there are images (in registers) or groups of images to share out: a prediction of one image
     * does not pay for starting and joining a thread it cannot use. Each image or group is one thread's, so the count
     * changes no bit. */
    int team = min_int(prelu_thread_count(), in_registers ? s->batch : groups);
#pragma omp parallel num_threads(team)
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
        int chunk_windows = quads ? 4 * WINOGRAD_TILES : winograd ? WINOGRAD_TILES : MR, chunk_rows = chunk_windows * window;
        float *tile_z = prelu_scratch(PRELU_SCRATCH_DCOLUMNS, (size_t)(linear ? 1 : 2) * chunk_rows * f);
        float *tile_y = linear ? tile_z : tile_z + (size_t)chunk_rows * f;
        if (by_position) alphas_in_window_order(act, alpha, position, rows_per_image, f, window_alpha);
        if (in_registers) {
#if defined(PRELU_AVX2)
#pragma omp for schedule(static)
            for (int n = 0; n < s->batch; n++) {
                long at = n * pooled_size;
                first_layer_filters(f, kd, pooled_per_image, rows, element, input + n * in_size, kernel, bias, slopes, slope_step, pooled + at,
                                    kept_z + at, kept_place + at, drop, at);
            }
#endif
        } else {
            float *tiles = quads      ? prelu_scratch(PRELU_SCRATCH_PACKED_B, winograd4_chunk_floats(s))
                           : winograd ? prelu_scratch(PRELU_SCRATCH_PACKED_B, winograd_chunk_floats(s))
                                      : NULL;
            if (!kernel_current) forward_kernel(s, kernel_form, a, kernel, kernel_packed);
#if defined(PRELU_AVX2)
            pooling_epilogue epilogue = {winograd_pooled, bias, slopes, slope_step, tile_act, tile_alpha, tile_z, tile_y, pooled, kept_z,
                                         kept_place, drop};
#endif
#pragma omp for schedule(static)
            for (int gi = 0; gi < groups; gi++) {
                int n0 = gi * group, windows = min_int(group, s->batch - n0) * pooled_per_image;
                a.data = input + n0 * in_size;
#if defined(PRELU_AVX2)
                if (quads) {
                    winograd4_group_pooled(s, pool, min_int(group, s->batch - n0), a.data, in_size, kernel_packed, tiles, &epilogue,
                                           n0 * pooled_size);
                    continue;
                }
#endif
                for (int w0 = 0; w0 < windows; w0 += chunk_windows) {
                    int count = min_int(chunk_windows, windows - w0);
#if defined(PRELU_AVX2)
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
