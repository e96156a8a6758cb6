/* winners.h: what the pooled convolution's paths share (conv2d_pool.h): whether a pooling's windows let it keep only
 * their winners, the order of an image's rows by window, and the pooling epilogue that finds each window's winner and
 * keeps z and its place there (in registers, in the AVX-512 and AVX2 builds). */

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

/* A PReLU's alphas of an image's covered positions in window order (row r of window_order is position[r]), f a row,
 * for one thread's share of the rows: a pooled value's places are then one run of memory. */
static inline void alphas_in_window_order(const prelu_activation *act, const float *alpha, const int32_t *position, int rows, int f,
                                          float *window_alpha) {
#pragma omp for schedule(static)
    for (int r = 0; r < rows; r++) {
        if (act->sharing == PRELU_ALPHA_PER_ELEMENT)
            memcpy(window_alpha + (long)r * f, alpha + (long)position[r] * f, (size_t)f * sizeof(float));
        else
            for (int c = 0; c < f; c++) window_alpha[(long)r * f + c] = alpha[alpha_index(act, position[r] * f + c)];
    }
}

/* One pooled value over its window's rows of the tile (z and y, `f` channels each, one row per place): the
 * maximum of y (ties to the first place, as max pooling), z at that place, and the place. The AVX-512 and AVX2 builds
 * keep the three in registers across the window (GCC's own vectorisation stores a row with masks and reads it back at
 * the next place, and a masked store does not forward to a load); the AVX-512 build, with a dropout (`drop`, or NULL),
 * stores the dropout's mask and output of the pooled values (elements [index, index + f) of the pooled result) instead
 * of them; the other builds leave the dropout to the caller. */
static inline void pool_window(int window, int f, const float *restrict z_rows, const float *restrict y_rows, float *restrict out,
                               float *restrict kept_z, float *restrict kept_place, const dropout_epilogue *drop, int64_t index) {
#if defined(PRELU_AVX2)
    for (int c = 0; c < f; c += VL) {
        vmask m = vmask_lanes(f - c);
        vfloat best = vload(m, y_rows + c), best_z = vload(m, z_rows + c), place = vzero();
        for (int q = 1; q < window; q++) {
            vfloat yq = vload(m, y_rows + (long)q * f + c);
            vmask better = vgreater(yq, best);
            best = vselect(better, yq, best);
            best_z = vselect(better, vload(m, z_rows + (long)q * f + c), best_z);
            place = vselect(better, vset((float)q), place);
        }
#if defined(PRELU_AVX512)
        if (drop)
            dropout_store16(drop, index + c, m, best);
        else
#else
        (void)drop, (void)index; /* the dropout is the caller's */
#endif
            vstore(out + c, m, best);
        vstore(kept_z + c, m, best_z);
        vstore(kept_place + c, m, place);
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

#if defined(PRELU_AVX2)
/* The pooling's epilogue in registers for one vector of filters (mask m) of one pooled value, from its window's four
 * outputs z[q] (places in window order): the bias (when `biased`), the rectifier with the negative slopes of place q
 * at slopes + q * slope_step (NULL: a linear layer), the maximum (ties to the first place) and what pool_window stores.
 * The same operations in the same order as the tile's passes (the bias, prelu_row or leaky_row, pool_window): the
 * same bits. */
static inline __attribute__((always_inline)) void pool_four_places(const vfloat z[4], vmask m, int biased, vfloat b, const float *slopes,
                                                                   long slope_step, float *pooled, float *kept_z, float *kept_place,
                                                                   const dropout_epilogue *drop, int64_t index) {
    vfloat best = vzero(), best_z = best, place = best;
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++) {
        vfloat zq = biased ? vadd(z[q], b) : z[q], yq = zq;
        if (slopes) {
            vfloat a = vload(m, slopes + q * slope_step);
            yq = vselect(vgreater(zq, vzero()), zq, vmul(a, zq));
        }
        if (q == 0) {
            best = yq;
            best_z = zq;
        } else {
            vmask better = vgreater(yq, best);
            best = vselect(better, yq, best);
            best_z = vselect(better, zq, best_z);
            place = vselect(better, vset((float)q), place);
        }
    }
#if defined(PRELU_AVX512)
    if (drop)
        dropout_store16(drop, index, m, best);
    else
#else
    (void)drop, (void)index; /* the AVX2 build leaves the dropout to the caller */
#endif
        vstore(pooled, m, best);
    vstore(kept_z, m, best_z);
    vstore(kept_place, m, place);
}
#endif

#if defined(PRELU_AVX2)
/* A PReLU per element at the winners of one pooled value, VL filters (mask m; `whole` where every lane is in, a
 * constant in each expansion): the window's alphas and their gradients come in window order (alphas_in_window_order),
 * place q's row at alpha + q stride and da + q stride. Each lane takes its winner's alpha, and z g is added to that
 * alpha's gradient where `rest` (z <= 0), through add_into_row. Returns the lanes' alphas. With the window's rows one
 * run of memory and `window` a constant, whole rows are loaded and blended: fewer instructions than looking up each
 * place's cell and loading it with a mask, though by itself no faster above a Zen 3's noise (what waited there were
 * the loads of z and the places: conv2d_pool.h's prefetch). */
static inline __attribute__((always_inline)) vfloat prelu_window_alphas(const int window, const int whole, vmask m, vfloat place,
                                                                       const float *alpha, long stride, float *da, vmask rest,
                                                                       vfloat zg) {
    vfloat slope = vzero();
#pragma GCC unroll 4
    for (int q = 0; q < window; q++) {
        vmask mine = vequal(place, vset((float)q));
        if (!whole) mine = vmask_and(m, mine);
        slope = vselect(mine, vload_whole(whole, m, alpha + q * stride), slope);
        add_into_row(da + q * stride, m, vmask_and(mine, rest), zg);
    }
    return slope;
}
#endif
