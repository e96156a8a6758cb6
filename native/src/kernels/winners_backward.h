/* winners_backward.h: the pooled convolution's backward over the kept winners: dL/dz at each winner with the bias and
 * alpha sums, then the kernel gradient (by product for short rows, else by filter) and the input gradient (by filter,
 * or by patches: patches.h), image by image. */

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

/* Two ways a row of `len` floats (a row of a convolution's window) meets the rows of several winners:
 * add_scaled_rows:   acc[0, len) += the sum over i < count, in order, of g[i] * rows[i][at, at + len)
 * add_scaled_row_to: rows[i][at, at + len) += g[i] * row[0, len), for each i < count in order
 * In the AVX-512 and AVX2 builds the row that stays (acc, or row) is held in up to ROW_VECTORS registers at a time
 * while the winners' rows stream past: `vectors` is a constant in each expansion (the switch below), so its loops unroll and the
 * array lives in registers. The other builds add through memory. */
#if defined(PRELU_AVX2)
/* Vectors of the staying row held at a time: 8 of AVX-512's 32 registers; 12 of AVX2's 16 (with the winner's dz and a
 * loaded vector), so that a 3x3 window's row of 32 channels (96 floats) is one block, not two passes of 8 and 4. */
#if defined(PRELU_AVX512)
#define ROW_VECTORS 8
#else
#define ROW_VECTORS 12
#endif

/* `vectors` whole vectors (a constant in each expansion), then, where `lanes` is not 0, that many lanes of one more:
 * masked stores only where a row ends inside a vector (a masked store does not forward to the next load of the same
 * place, and rows of neighbouring windows overlap). */
static inline __attribute__((always_inline)) void scaled_rows_block(const int vectors, int lanes, int to_rows, int count, const float *g,
                                                                    float *base, const long *offset, long at, float *row) {
    vmask tail = vmask_lanes(lanes);
    vfloat held[ROW_VECTORS], held_tail = vload(tail, row + VL * vectors);
#pragma GCC unroll 12
    for (int v = 0; v < vectors; v++) held[v] = vloadu(row + VL * v);
    for (int i = 0; i < count; i++) {
        vfloat gi = vset(g[i]);
        float *x = base + offset[i] + at;
#pragma GCC unroll 12
        for (int v = 0; v < vectors; v++) {
            if (to_rows)
                vstoreu(x + VL * v, vfmadd(gi, held[v], vloadu(x + VL * v)));
            else
                held[v] = vfmadd(gi, vloadu(x + VL * v), held[v]);
        }
        if (lanes) {
            vfloat xv = vload(tail, x + VL * vectors);
            if (to_rows)
                vstore(x + VL * vectors, tail, vfmadd(gi, held_tail, xv));
            else
                held_tail = vfmadd(gi, xv, held_tail);
        }
    }
    if (!to_rows) {
#pragma GCC unroll 12
        for (int v = 0; v < vectors; v++) vstoreu(row + VL * v, held[v]);
        vstore(row + VL * vectors, tail, held_tail);
    }
}

static inline void scaled_rows(int len, int to_rows, int count, const float *g, float *base, const long *offset, long at, float *row) {
    for (int j0 = 0; j0 < len; j0 += VL * ROW_VECTORS) {
        int left = min_int(len - j0, VL * ROW_VECTORS), vectors = left / VL, lanes = left % VL;
        switch (vectors) {
#define ROWS_CASE(n)                                                                                                   \
    case n: scaled_rows_block(n, lanes, to_rows, count, g, base, offset, at + j0, row + j0); break;
            ROWS_CASE(0) ROWS_CASE(1) ROWS_CASE(2) ROWS_CASE(3) ROWS_CASE(4) ROWS_CASE(5) ROWS_CASE(6) ROWS_CASE(7) ROWS_CASE(8)
#if ROW_VECTORS > 8
            ROWS_CASE(9) ROWS_CASE(10) ROWS_CASE(11) ROWS_CASE(12)
#endif
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
    prelu_count_flops(2 * (int64_t)pooled_per_image * s->filters * kd); /* a window per winner */
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
    prelu_count_flops(2 * (int64_t)pooled_per_image * s->filters * kd); /* a window per winner */
    for (int c = 0; c < s->filters; c++) {
        long first = (long)c * pooled_per_image;
        for (int ky = 0; ky < s->kernel_h; ky++)
            add_scaled_row_to(run, pooled_per_image, g_t + first, kernel_t + (long)c * kd + ky * run, dimage, at + first, ky * line);
    }
}

/* dL/dz of one pooled value's winners (f filters): g (dL/dpooled) becomes d, with the bias and alpha sums. The
 * activation's backward runs on the row as a layer's epilogue does. A PReLU with an alpha per element has its alphas
 * and their gradients in window order (alphas_in_window_order), this window's rows from `first_row` on, and takes each
 * winner's alpha at its place (in one pass in the AVX-512 and AVX2 builds, else once per place of the window, on the
 * filters that place won); the other activations find theirs by the places' positions in the map (window_position). One
 * with irregularly shared alphas
 * gathers each winner's alpha into a row and afterwards adds the row's alpha gradients back. `row` is scratch for 2 f
 * floats and f ints. */
static void winners_backward(const prelu_activation *act, const float *alpha, int f, int window, int first_row,
                             const int32_t *window_position, const float *kz, const float *won, const float *g, float *d, float *db, float *da, float *row) {
    if (act->kind == PRELU_PRELU && act->sharing == PRELU_ALPHA_PER_ELEMENT) {
#if defined(PRELU_AVX2)
        /* In one pass: each lane's alpha (and alpha gradient) is its winner's position's. */
        const float *rows = alpha + (long)first_row * f;
        float *da_rows = da + (long)first_row * f;
        for (int c = 0; c < f; c += VL) {
            vmask m = vmask_lanes(f - c);
            vfloat z = vload(m, kz + c), gc = vload(m, g + c), place = vload(m, won + c), zg = vmul(z, gc);
            vmask positive = vgreater(z, vzero()), rest = vmask_but(m, positive);
            vfloat slope = window == 4 && c + VL <= f ? prelu_window_alphas(4, 1, m, place, rows + c, f, da_rows + c, rest, zg)
                                                      : prelu_window_alphas(window, 0, m, place, rows + c, f, da_rows + c, rest, zg);
            vfloat dc = vselect(positive, gc, vmul(slope, gc));
            if (vmask_full(m))
                vstoreu(d + c, dc); /* a whole vector: no masked store (see add_into_row) */
            else
                vstore(d + c, m, dc);
        }
#else
        for (int q = 0; q < window; q++) {
            long first = (long)(first_row + q) * f;
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

/* How many pooled rows ahead a PReLU per element's winners' backward asks for its streams: z, the places, dL/dpooled
 * and the dropout's mask, read where the forward left them (in L3 or memory by then). Beside the alphas' and their
 * gradients' rows, the prefetchers did not keep up: the study's first layer's backward waited on those loads (a perf
 * profile put half its samples there, on a Zen 3); with the alphas in window order, 1.2-1.5 ms more than ReLU's before
 * and 0.2-0.5 ms after (`Prelu.Benchmarks step --breakdown`). ReLU's loop, with fewer streams, measured no faster with it. */
#define PREFETCH_ROWS 16

static inline void prefetch_pooled_row(long at, int f, const float *kept_z, const float *kept_place, const float *dpooled,
                                       const float *dropout_mask) {
    for (int c = 0; c < f; c += 16) { /* a cache line of floats */
        __builtin_prefetch(kept_z + at + c);
        __builtin_prefetch(kept_place + at + c);
        __builtin_prefetch(dpooled + at + c);
        if (dropout_mask) __builtin_prefetch(dropout_mask + at + c);
    }
}

#if defined(PRELU_AVX2)
/* Images a PReLU per element's winners' backward takes together under 2x2 pooling (winners_backward_of_images). Each
 * alpha gradient's row is then read and written once for two images: in a program timing the study's first layer
 * (ReLU's and PReLU's backward alternated, 150 calls each), PReLU's backward took 0.24-0.29 ms more than ReLU's where
 * 0.43-0.49 ms image by image, on a Zen 3. Four or eight images measured no better than one: their streams (z, places,
 * dL/dpooled and the dropout's mask of each image, 21 KB apart) are more than the prefetchers follow, and in the first
 * layer, whose kernel gradient reads each image's dL/dz and places right after, eight images' no longer fit in L2. */
#define WINNERS_IMAGE_BLOCK 2

/* One vector of filters (mask m; `whole` where every lane is in, a constant in each expansion) of one pooled value, for
 * `count` images pooled_size floats apart: the window's four alphas and their four gradient sums held in registers
 * while the images pass. Each image's lanes as winners_backward's: dL/dpooled through the dropout's mask, the winner's
 * alpha, z g added to its gradient where z <= 0 (+0 in the other lanes, as add_into_row), the images in order: the same
 * operations in the same order for every sum, the same bits. */
static inline __attribute__((always_inline)) void prelu_winners_of_images(const int whole, vmask m, int count, long pooled_size,
                                                                          const float *alpha, long stride, float *da, const float *kz,
                                                                          const float *won, const float *g, const float *mask, float *d) {
    vfloat a[4], sum[4];
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++) {
        a[q] = vload_whole(whole, m, alpha + q * stride);
        sum[q] = vload_whole(whole, m, da + q * stride);
    }
    for (int i = 0; i < count; i++) {
        long at = i * pooled_size;
        vfloat z = vload_whole(whole, m, kz + at), gc = vload_whole(whole, m, g + at), place = vload_whole(whole, m, won + at);
        if (mask) gc = vmul(gc, vload_whole(whole, m, mask + at));
        vmask positive = vgreater(z, vzero()), rest = vmask_but(m, positive);
        vfloat zg = vmul(z, gc), slope = vzero();
#pragma GCC unroll 4
        for (int q = 0; q < 4; q++) {
            vmask mine = vequal(place, vset((float)q));
            if (!whole) mine = vmask_and(m, mine);
            slope = vselect(mine, a[q], slope);
            sum[q] = vadd(sum[q], vselect(vmask_and(mine, rest), zg, vzero()));
        }
        vstore_whole(whole, d + at, m, vselect(positive, gc, vmul(slope, gc)));
    }
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++) vstore_whole(whole, da + q * stride, m, sum[q]);
}

/* winners_backward's PReLU per element under 2x2 pooling for `count` consecutive images (pooled_size floats apart in
 * kz, won, g, mask and d), pooled value by pooled value, with the alphas and their gradients in window order. The bias
 * gradient, which winners_backward adds row by row within an image, is summed in that order afterwards. */
static void winners_backward_of_images(int f, int pooled_per_image, int count, long pooled_size, const float *alpha, const float *kz,
                                       const float *won, const float *g, const float *mask, float *d, float *db, float *da) {
    for (int p = 0; p < pooled_per_image; p++) {
        long here = (long)p * f, rows = 4 * here;
        for (int i = 0; i < count; i++)
            prefetch_pooled_row(i * pooled_size + here + PREFETCH_ROWS * f, f, kz, won, g, mask);
        for (int c = 0; c < f; c += VL) {
            vmask m = vmask_lanes(f - c);
            if (c + VL <= f)
                prelu_winners_of_images(1, m, count, pooled_size, alpha + rows + c, f, da + rows + c, kz + here + c, won + here + c,
                                        g + here + c, mask ? mask + here + c : NULL, d + here + c);
            else
                prelu_winners_of_images(0, m, count, pooled_size, alpha + rows + c, f, da + rows + c, kz + here + c, won + here + c,
                                        g + here + c, mask ? mask + here + c : NULL, d + here + c);
        }
    }
    for (int c = 0; c < f; c += VL) {
        vmask m = vmask_lanes(f - c);
        int whole = c + VL <= f;
        vfloat sum = vload_whole(whole, m, db + c);
        for (int i = 0; i < count; i++)
            for (int p = 0; p < pooled_per_image; p++) sum = vadd(sum, vload_whole(whole, m, d + i * pooled_size + (long)p * f + c));
        vstore_whole(whole, db + c, m, sum);
    }
}
#endif

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
