/* conv2d.h: 2-D convolution (+ bias + activation), forward and backward, as matrix products over the im2col
 * rows of a group of images (M = images x output positions, K = KH x KW x Cin, N = filters). Groups of images
 * are split between the threads; the kernel is packed once per call and shared by them. Where no window
 * reaches into the padding, the products read the im2col matrix (and its transpose) straight from the input
 * through gathered views (gemm.h): one row of a window is KW x Cin contiguous floats of the input. Elsewhere
 * the rows are copied out first (im2col). */

/* Images multiplied together: enough rows that the last, partial register block of M is a small share of
 * them (the study's second convolution has 121 positions, 10 blocks of 12 and one row), few enough that the
 * group's im2col rows stay in L2. */
static inline int images_per_product(int positions) { return positions >= 256 ? 1 : 256 / positions; }

/* Whether the products can read the input in place: every window lies inside the image, and a window row
 * (the run of the im2col view) and an output row (the run of its transpose) each fit in a block of K. */
static inline int reads_input_in_place(const prelu_conv2d_shape *s) {
    return s->pad_top == 0 && s->pad_left == 0 && (s->out_h - 1) * s->stride_y + s->kernel_h <= s->height &&
           (s->out_w - 1) * s->stride_x + s->kernel_w <= s->width && s->kernel_w * s->in_channels <= KC_MAX &&
           s->out_w <= KC_MAX;
}

/* The tables of the gathered views over `images` images from the first of a group (whose input the views'
 * data points at), in longs: [0, m * images) the top-left input of each output position (the rows of the
 * im2col matrix); then out_h * images: the first position of each output row (the runs of its transpose);
 * then KH: the start of each window row (the runs of the im2col matrix); then KD: each window element
 * (the rows of its transpose). */
static inline size_t view_table_longs(const prelu_conv2d_shape *s, int images) {
    return (size_t)images * (s->out_h * s->out_w + s->out_h) + s->kernel_h + (size_t)s->kernel_h * s->kernel_w * s->in_channels;
}

typedef struct conv_views {
    matrix_view rows;    /* the im2col matrix, (positions x KD) */
    matrix_view columns; /* its transpose, (KD x positions) */
} conv_views;

static conv_views gathered_views(const prelu_conv2d_shape *s, int images, long *table) {
    int cin = s->in_channels, m = s->out_h * s->out_w;
    long image = (long)s->height * s->width * cin, line = (long)s->width * cin;
    long *positions = table, *out_rows = positions + (long)images * m, *window_rows = out_rows + (long)images * s->out_h;
    long *elements = window_rows + s->kernel_h;
    for (int n = 0; n < images; n++)
        for (int oy = 0; oy < s->out_h; oy++) {
            long start = n * image + (long)oy * s->stride_y * line;
            out_rows[n * s->out_h + oy] = start;
            for (int ox = 0; ox < s->out_w; ox++) positions[(long)n * m + oy * s->out_w + ox] = start + (long)ox * s->stride_x * cin;
        }
    for (int ky = 0; ky < s->kernel_h; ky++) {
        window_rows[ky] = ky * line;
        for (int q = 0; q < s->kernel_w * cin; q++) elements[ky * s->kernel_w * cin + q] = ky * line + q;
    }
    conv_views v;
    v.rows = view(NULL, 0, 1);
    v.rows.row_table = positions;
    v.rows.run = s->kernel_w * cin;
    v.rows.run_table = window_rows;
    v.columns = view(NULL, 0, (long)s->stride_x * cin);
    v.columns.row_table = elements;
    v.columns.run = s->out_w;
    v.columns.run_table = out_rows;
    return v;
}

/* Whether the window of output (oy, ox) lies wholly inside the image: then each of its KH rows is one
 * contiguous run of KW x Cin floats, in the input and in its im2col row alike. */
static inline int window_inside(const prelu_conv2d_shape *s, int iy0, int ix0) {
    return iy0 >= 0 && iy0 + s->kernel_h <= s->height && ix0 >= 0 && ix0 + s->kernel_w <= s->width;
}

/* Rows of im2col for one image: row m = (oy, ox) holds the KH x KW x Cin window, zeros where padded. */
static void im2col(const prelu_conv2d_shape *s, const float *image, float *col) {
    int cin = s->in_channels, kd = s->kernel_h * s->kernel_w * cin, run = s->kernel_w * cin;
    for (int oy = 0; oy < s->out_h; oy++)
        for (int ox = 0; ox < s->out_w; ox++) {
            float *row = col + (long)(oy * s->out_w + ox) * kd;
            int iy0 = oy * s->stride_y - s->pad_top, ix0 = ox * s->stride_x - s->pad_left;
            if (window_inside(s, iy0, ix0)) {
                for (int ky = 0; ky < s->kernel_h; ky++) {
                    const float *src = image + ((long)(iy0 + ky) * s->width + ix0) * cin;
                    for (int q = 0; q < run; q++) row[ky * run + q] = src[q];
                }
                continue;
            }
            for (int ky = 0; ky < s->kernel_h; ky++) {
                int iy = iy0 + ky;
                for (int kx = 0; kx < s->kernel_w; kx++) {
                    int ix = ix0 + kx;
                    float *dst = row + (ky * s->kernel_w + kx) * cin;
                    /* Plain loops: with few channels (the first layer has one) a memcpy call per
                     * window position costs more than the copy. */
                    if (iy < 0 || iy >= s->height || ix < 0 || ix >= s->width) {
                        for (int c = 0; c < cin; c++) dst[c] = 0.0f;
                    } else {
                        const float *src = image + ((long)iy * s->width + ix) * cin;
                        for (int c = 0; c < cin; c++) dst[c] = src[c];
                    }
                }
            }
        }
}

/* The inverse scatter: each window of dcol is added back into the image gradient. */
static void col2im(const prelu_conv2d_shape *s, const float *dcol, float *dimage) {
    int cin = s->in_channels, kd = s->kernel_h * s->kernel_w * cin, run = s->kernel_w * cin;
    prelu_count_flops((int64_t)cin * taps_inside(s->height, s->out_h, s->kernel_h, s->stride_y, s->pad_top) *
                      taps_inside(s->width, s->out_w, s->kernel_w, s->stride_x, s->pad_left)); /* an add per tap inside */
    memset(dimage, 0, (size_t)s->height * s->width * cin * sizeof(float));
    for (int oy = 0; oy < s->out_h; oy++)
        for (int ox = 0; ox < s->out_w; ox++) {
            const float *row = dcol + (long)(oy * s->out_w + ox) * kd;
            int iy0 = oy * s->stride_y - s->pad_top, ix0 = ox * s->stride_x - s->pad_left;
            if (window_inside(s, iy0, ix0)) {
                for (int ky = 0; ky < s->kernel_h; ky++) {
                    float *dst = dimage + ((long)(iy0 + ky) * s->width + ix0) * cin;
                    for (int q = 0; q < run; q++) dst[q] += row[ky * run + q];
                }
                continue;
            }
            for (int ky = 0; ky < s->kernel_h; ky++) {
                int iy = oy * s->stride_y - s->pad_top + ky;
                if (iy < 0 || iy >= s->height) continue;
                for (int kx = 0; kx < s->kernel_w; kx++) {
                    int ix = ox * s->stride_x - s->pad_left + kx;
                    if (ix < 0 || ix >= s->width) continue;
                    const float *src = row + (ky * s->kernel_w + kx) * cin;
                    float *dst = dimage + ((long)iy * s->width + ix) * cin;
                    for (int c = 0; c < cin; c++) dst[c] += src[c];
                }
            }
        }
}

/* How a convolution's forward runs its products: Winograd's F(2x2, 3x3) (winograd.h), F(4x4, 3x3) (winograd4.h), or a
 * product over the patches (`a`). */
enum { FORWARD_PATCHES = 0, FORWARD_WINOGRAD = 1, FORWARD_WINOGRAD4 = 2 };

/* The kernel as a convolution's forward products read it, made once per call for every thread of the enclosing parallel
 * region (which wait for each other at its end): Winograd's transform, or packed for the product over `a`. */
static inline size_t forward_kernel_floats(const prelu_conv2d_shape *s, int form) {
    return form == FORWARD_WINOGRAD4 ? winograd4_kernel_floats(s)
           : form == FORWARD_WINOGRAD ? winograd_kernel_floats(s)
                                      : packed_b_floats(s->kernel_h * s->kernel_w * s->in_channels, s->filters);
}

/* The memory of the kernel's forward form in the calling thread's cache (runtime.c), and whether it holds the form of
 * the kernel's present values: a prediction of one image paid more for the transform than for its products, so calls
 * with unchanged weights make it once. The key names the form: Winograd's or packed, the view the product reads (its
 * K blocks follow a gathered view's runs), the build's panel width and the shape. */
static inline float *forward_kernel_form(const prelu_conv2d_shape *s, int form, int gathered, const float *kernel, int *current) {
    int64_t key = ((int64_t)form << 61) | ((int64_t)gathered << 60) | ((int64_t)NR << 53) | ((int64_t)s->kernel_h << 45) |
                  ((int64_t)s->kernel_w << 37) | ((int64_t)s->in_channels << 19) | (int64_t)s->filters;
    size_t floats = (size_t)s->kernel_h * s->kernel_w * s->in_channels * s->filters;
    return prelu_kernel_form(kernel, floats, key, forward_kernel_floats(s, form), current);
}

static void forward_kernel(const prelu_conv2d_shape *s, int form, matrix_view a, const float *kernel, float *dst) {
    int kd = s->kernel_h * s->kernel_w * s->in_channels;
    if (form == FORWARD_WINOGRAD4)
        winograd4_kernel(s, kernel, dst);
    else if (form == FORWARD_WINOGRAD)
        winograd_kernel(s, kernel, dst);
    else
        pack_b_shared(kd, k_block(a, kd), s->filters, view(kernel, s->filters, 1), dst);
}

/* With a pool shape (the max pooling that follows the layer), each group's output is pooled into `pooled` while it
 * is still in cache; without one (NULL), the convolution alone. A 3x3 convolution of stride 1 over enough channels runs
 * by Winograd's transforms in the AVX-512 and AVX2 builds, F(4x4, 3x3) where it does fewer products (winograd4.h), else F(2x2,
 * 3x3) (winograd.h), in groups of images that fill the chunks of tiles. */
static void conv2d_forward(const prelu_conv2d_shape *s, const prelu_activation *act, const prelu_conv2d_shape *pool,
                           const float *input, const float *kernel, const float *bias, const float *alpha, float *z, float *y,
                           float *pooled) {
    int m = s->out_h * s->out_w, f = s->filters, kd = s->kernel_h * s->kernel_w * s->in_channels;
    long in_size = (long)s->height * s->width * s->in_channels, out_size = (long)m * f;
    long pooled_size = pool ? (long)pool->out_h * pool->out_w * f : 0;
    int form = !winograd_applies(s) ? FORWARD_PATCHES : winograd4_pays(s) ? FORWARD_WINOGRAD4 : FORWARD_WINOGRAD;
    int winograd = form != FORWARD_PATCHES, by_4x4 = form == FORWARD_WINOGRAD4;
    int group = winograd ? winograd_images_per_group(winograd_map_tiles(s, by_4x4 ? 4 : 2)) : images_per_product(m);
    int groups = (s->batch + group - 1) / group;
    int in_place = reads_input_in_place(s), kernel_current = 1, map = first_layer_map(s);
    float *kernel_packed = map ? NULL : forward_kernel_form(s, form, in_place && !winograd, kernel, &kernel_current);
    /* No more threads than groups of images: each group is one thread's, so the count changes no bit. */
#pragma omp parallel num_threads(min_int(prelu_thread_count(), groups))
    {
        /* Either Winograd's transformed tiles, the tables of the gathered view or the copied im2col rows, per thread. */
        float *scratch = map       ? prelu_scratch(PRELU_SCRATCH_COLUMNS, first_layer_padded_floats(s))
                         : winograd  ? prelu_scratch(PRELU_SCRATCH_PACKED_B, by_4x4 ? winograd4_chunk_floats(s) : winograd_chunk_floats(s))
                         : in_place ? prelu_scratch(PRELU_SCRATCH_COLUMNS, 2 * view_table_longs(s, group))
                                    : prelu_scratch(PRELU_SCRATCH_COLUMNS, (size_t)group * m * kd);
        matrix_view a = in_place && !winograd && !map ? gathered_views(s, group, (long *)scratch).rows : view(scratch, kd, 1);
        if (!kernel_current) forward_kernel(s, form, a, kernel, kernel_packed);
#pragma omp for schedule(static)
        for (int gi = 0; gi < groups; gi++) {
            int n0 = gi * group, count = min_int(group, s->batch - n0), rows = count * m;
            /* The rows of consecutive images are consecutive rows of the output. */
            float *out = (act->kind == PRELU_LINEAR ? y : z) + n0 * out_size;
            if (map) {
                first_layer_map_forward(s, count, input + n0 * in_size, kernel, out, scratch);
            } else if (winograd) {
                (by_4x4 ? winograd4_images : winograd_images)(s, count, input + n0 * in_size, in_size, kernel_packed, out, out_size, scratch);
            } else {
                if (in_place)
                    a.data = input + n0 * in_size;
                else
                    for (int i = 0; i < count; i++) im2col(s, input + (n0 + i) * in_size, scratch + (long)i * m * kd);
                gemm_packed(rows, f, kd, a, kernel_packed, out, f, 0);
            }
            /* Epilogue, while the group's output is in cache: bias, then the activation. */
            for (int r = 0; r < rows; r++)
                bias_activate(act, alpha, bias, (r % m) * f, f, out + (long)r * f, y + n0 * out_size + (long)r * f);
            if (pool)
                for (int i = 0; i < count; i++) maxpool_image(pool, y + (n0 + i) * out_size, pooled + (n0 + i) * pooled_size);
        }
    }
}

/* With a pool shape, dy is first written from the pooled gradient dpooled (each window's to its winner in y, the
 * layer's output), for every image before any product: the generated code hands the pooled gradient and dx the same
 * buffer (the one that is free at that point), so all of dpooled must be read before dx is written.
 * A 3x3 convolution of stride 1 over enough channels takes Winograd's transforms in the AVX-512 and AVX2 builds: its kernel
 * gradient through the forward's (winograd_gradient.h), its input gradient as a Winograd convolution of dz (winograd.h's
 * input_gradient_shape) where there are enough filters; each by F(4x4, 3x3) where that does fewer products (winograd4.h).
 * Otherwise the products over the im2col rows: dkernel = col^T dz,
 * and dcol = dz kernel^T added back by col2im. */
static void conv2d_backward(const prelu_conv2d_shape *s, const prelu_activation *act, const prelu_conv2d_shape *pool,
                            const float *input, const float *kernel, const float *alpha, const float *z, const float *y,
                            const float *dpooled, float *dy, float *dx, float *dkernel, float *dbias, float *dalpha) {
    int m = s->out_h * s->out_w, f = s->filters, kd = s->kernel_h * s->kernel_w * s->in_channels;
    long in_size = (long)s->height * s->width * s->in_channels, out_size = (long)m * f;
    long pooled_size = pool ? (long)pool->out_h * pool->out_w * f : 0;
    int threads = prelu_thread_count(), group = images_per_product(m);
    int in_place = reads_input_in_place(s);
    int alpha_length = act->kind == PRELU_PRELU ? act->alpha_length : 0;
    prelu_conv2d_shape gradient_shape = input_gradient_shape(s);
    int winograd = winograd_applies(s), winograd_dx = dx && winograd && winograd_applies(&gradient_shape), winograd_dk = dkernel && winograd;
    int dx_by_4x4 = winograd_dx && winograd4_pays(&gradient_shape); /* F(4x4, 3x3) where it does fewer products */
    int dk_by_4x4 = winograd_dk && winograd4_pays(s);
    /* With Winograd's transforms every sum follows the threads' images, not their grouping (the kernel gradient's chunks
     * run on across images, the input gradient's tiles are rows of their own): the images are shared out one by one and
     * grouped to fill the input gradient's chunks. Otherwise groups of images are shared out (the im2col products' K). */
    if (winograd) group = winograd_dx ? winograd_images_per_group(winograd_map_tiles(&gradient_shape, dx_by_4x4 ? 4 : 2)) : 1;
    int unit = winograd ? 1 : group;
    /* The input gradient's Winograd kernel and, per thread, its chunk of tiles, by F(4x4) or F(2x2). */
    size_t dx_kernel_floats = dx_by_4x4 ? winograd4_kernel_floats(&gradient_shape) : winograd_kernel_floats(&gradient_shape);
    size_t dx_chunk_floats = dx_by_4x4 ? winograd4_chunk_floats(&gradient_shape) : winograd_chunk_floats(&gradient_shape);
    /* dcol = dz * kernel^T: the kernel read transposed, (F, KH*KW*Cin), packed once for every image; or the turned
     * kernel followed by its Winograd transform. */
    size_t turned_floats = (size_t)kd * f;
    float *kernel_t_packed = !dx           ? NULL
                             : winograd_dx ? prelu_scratch(PRELU_SCRATCH_SHARED_B, turned_floats + dx_kernel_floats)
                                           : prelu_scratch(PRELU_SCRATCH_SHARED_B, packed_b_floats(f, kd));
    /* Per-thread sums of dkernel (or of its Winograd transform dU), dbias and dalpha, added once at the end. */
    long dk_floats = dk_by_4x4 ? winograd4_gradient_floats(s) : winograd_dk ? winograd_gradient_floats(s) : (long)kd * f;
    long per_thread = dk_floats + f + alpha_length;
    float *partials = thread_partials(threads, per_thread);
    if (pool) {
#pragma omp parallel for schedule(static) num_threads(threads)
        for (int n = 0; n < s->batch; n++) maxpool_image_backward(pool, y + n * out_size, dpooled + n * pooled_size, dy + n * out_size);
    }

#pragma omp parallel num_threads(threads)
    {
        int t = omp_get_thread_num();
        float *dk = partials + t * per_thread;
        float *db = dk + dk_floats, *da = db + f;
        /* Winograd's chunk of tiles, the tables of the gathered view or the copied im2col rows. */
        float *scratch = dk_by_4x4   ? prelu_scratch(PRELU_SCRATCH_COLUMNS, winograd4_gradient_chunk_floats(s))
                         : winograd_dk ? prelu_scratch(PRELU_SCRATCH_COLUMNS, winograd_gradient_chunk_floats(s))
                         : in_place  ? prelu_scratch(PRELU_SCRATCH_COLUMNS, 2 * view_table_longs(s, group))
                                     : prelu_scratch(PRELU_SCRATCH_COLUMNS, (size_t)group * m * kd);
        matrix_view a_t = winograd_dk ? view(NULL, 0, 0) : in_place ? gathered_views(s, group, (long *)scratch).columns : view(scratch, 1, kd);
        winograd_gradient_chunk chunk = (dk_by_4x4 ? winograd4_gradient_chunk_at : winograd_gradient_chunk_at)(s, scratch);
        /* The window gradients of a group of images, or a chunk of Winograd's tiles. */
        float *dcol = !dx           ? NULL
                      : winograd_dx ? prelu_scratch(PRELU_SCRATCH_DCOLUMNS, dx_chunk_floats)
                                    : prelu_scratch(PRELU_SCRATCH_DCOLUMNS, (size_t)group * m * kd);
        float *gradient_kernel = winograd_dx ? kernel_t_packed + turned_floats : NULL;
        if (winograd_dx) {
            turned_kernel(s, kernel, kernel_t_packed);
            if (dx_by_4x4)
                winograd4_kernel(&gradient_shape, kernel_t_packed, gradient_kernel);
            else
                winograd_kernel(&gradient_shape, kernel_t_packed, gradient_kernel);
        } else if (dx) {
            pack_b_shared(f, k_block(view(dy, f, 1), f), kd, view(kernel, 1, f), kernel_t_packed);
        }
        /* The thread's units, as an OpenMP static schedule shares them out (libgomp's split: the first units % team threads
         * take one more), then its images in groups. */
        int team = omp_get_num_threads(), units = (s->batch + unit - 1) / unit, share = units / team, extra = units % team;
        int first_unit = t * share + min_int(t, extra), last_unit = first_unit + share + (t < extra);
        int first = first_unit * unit, last = min_int(s->batch, last_unit * unit);
        for (int n0 = first; n0 < last; n0 += group) {
            int count = min_int(group, last - n0), rows = count * m;
            float *g = dy + n0 * out_size;
            for (int r = 0; r < rows; r++)
                bias_activate_backward(act, alpha, (r % m) * f, f, z ? z + n0 * out_size + (long)r * f : NULL, g + (long)r * f, db, da);
            if (winograd_dk) {
                for (int i = 0; i < count; i++) {
                    const float *image = input + (n0 + i) * in_size, *image_g = g + i * out_size;
                    (dk_by_4x4 ? winograd4_gradient_image : winograd_gradient_image)(s, image, image_g, &chunk, dk);
                }
            } else if (dkernel) {
                if (in_place)
                    a_t.data = input + n0 * in_size;
                else
                    for (int i = 0; i < count; i++) im2col(s, input + (n0 + i) * in_size, scratch + (long)i * m * kd);
                /* dkernel (KD x F) += col^T (KD x rows) * g (rows x F) */
                gemm(kd, f, rows, a_t, view(g, f, 1), dk, f, 1);
            }
            if (winograd_dx) {
                float *image_dx = dx + n0 * in_size;
                (dx_by_4x4 ? winograd4_images : winograd_images)(&gradient_shape, count, g, out_size, gradient_kernel, image_dx, in_size, dcol);
            } else if (dx) {
                /* dcol (rows x KD) = g (rows x F) * kernel^T (F x KD), then each image's windows back into it */
                gemm_packed(rows, kd, f, view(g, f, 1), kernel_t_packed, dcol, kd, 0);
                for (int i = 0; i < count; i++) col2im(s, dcol + (long)i * m * kd, dx + (n0 + i) * in_size);
            }
        }
        /* The thread's last, partial chunk. */
        if (winograd_dk) (dk_by_4x4 ? winograd4_gradient_flush : winograd_gradient_flush)(s, &chunk, dk);
    }
    if (winograd_dk && dkernel) {
        /* dg from the threads' dU, which each adds itself */
        (dk_by_4x4 ? winograd4_kernel_gradient : winograd_kernel_gradient)(s, partials, threads, per_thread, dkernel);
    } else {
        add_thread_partials(dkernel, partials, threads, per_thread, 0, dk_floats);
    }
    add_thread_partials(dbias, partials, threads, per_thread, dk_floats, f);
    add_thread_partials(dalpha, partials, threads, per_thread, dk_floats + f, alpha_length);
}
