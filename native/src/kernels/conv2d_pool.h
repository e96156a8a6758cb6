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
 * pooling (pool NULL), the convolution alone.
 *
 * The paths live in their own headers, included before this one (kernels.h): winners.h (what they share),
 * first_layer.h (a first layer in registers), winners_forward.h, patches.h and winners_backward.h. This file holds the
 * two entry points that choose between them. */

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
#if defined(PRELU_AVX512)
    int first_layer = dx == NULL && by_product && first_layer_shape(s, pool);
#else
    /* The registers' backward is the AVX-512 build's; the others take the winners' path. AVX2's registers hold a vector
     * of filters' nine sums a pass, without the patch (16 floats): that measured slower than the winners' path on a Zen
     * 3, 5.3-5.5 against 2.9-3.0 ms for the study's first layer. */
    int first_layer = 0;
#endif
    /* A PReLU per element's winners read their alphas and add to their gradients at their positions, a window's rows a
     * row of the map apart. Laid out in window order, as the forward's, a pooled value's places are one run of memory
     * (prelu_window_alphas: whole loads and blends, no cell looked up place by place); the threads' gradients stay in
     * window order until they are added, in thread order as before: the same bits. */
    int window_rows = act->kind == PRELU_PRELU && act->sharing == PRELU_ALPHA_PER_ELEMENT;
    float *window_alpha = window_rows ? prelu_scratch(PRELU_SCRATCH_SHARED_ALPHA, (size_t)rows_per_image * f) : NULL;
    const float *winners_alpha = window_rows ? window_alpha : alpha;
    first_layer_backward how = {0, 0, NULL, NULL, 0};
    int first_layer_patches = first_layer && first_layer_reads_patches(s, pool);
    (void)first_layer_patches; /* the registers' path is the AVX-512 build's */
    if (first_layer) {
        kernel_element_offsets(s, element);
        rectifier_slopes(act, alpha, f, slope_row);
        how = first_layer_backward_of(s, act, winners_alpha, slope_row);
    }
    /* The covered positions' alpha gradients are written row by row below; a position no window covers gets 0. */
    if (window_rows && dalpha) memset(dalpha, 0, (size_t)act->alpha_length * sizeof(float));
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
        if (window_rows) alphas_in_window_order(act, alpha, position, rows_per_image, f, window_alpha);
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
#if defined(PRELU_AVX2)
        /* A PReLU per element under 2x2 pooling takes its images two at a time (winners_backward_of_images), each thread
         * the images the loop below would give it under the static schedule (libgomp's: the first batch % team threads
         * one more), so that each thread's sums are of the same images as before. */
        if (window_rows && window == 4 && !first_layer) {
            int team = omp_get_num_threads(), share = s->batch / team, extra = s->batch % team;
            int begin = t * share + (t < extra ? t : extra), end = begin + share + (t < extra);
            for (int n0 = begin; n0 < end; n0 += WINNERS_IMAGE_BLOCK) {
                int count = min_int(WINNERS_IMAGE_BLOCK, end - n0);
                long image = n0 * pooled_size;
                winners_backward_of_images(f, pooled_per_image, count, pooled_size, window_alpha, kept_z + image, kept_place + image,
                                           dpooled + image, dropout_mask ? dropout_mask + image : NULL, dz + image, db, da);
                if (image_by_image)
                    for (int n = n0; n < n0 + count; n++)
                        image_gradients(s, window, pooled_per_image, by_product, 0, windows, input_offset, input + n * in_size,
                                        dz + n * pooled_size, kept_place + n * pooled_size, NULL, NULL, spread, g_t, at, sorted, dk);
            }
#pragma omp barrier
        } else
#endif
        {
#pragma omp for schedule(static)
            for (int n = 0; n < s->batch; n++) {
                long image = n * pooled_size;
                if (!(first_layer && how.in_registers))
                    for (int p = 0; p < pooled_per_image; p++) {
                        long here = image + (long)p * f;
                        if (window_rows) prefetch_pooled_row(here + PREFETCH_ROWS * f, f, kept_z, kept_place, dpooled, dropout_mask);
                        const float *g = dpooled + here;
                        if (dropout_mask) {
#pragma omp simd
                            for (int c = 0; c < f; c++) dropped[c] = g[c] * dropout_mask[here + c];
                            g = dropped;
                        }
                        winners_backward(act, winners_alpha, f, window, p * window, position + p * window, linear ? NULL : kept_z + here,
                                         kept_place + here, g, dz + here, db, da, row);
                    }
#if defined(PRELU_AVX512)
                if (first_layer) {
                    const float *kz = linear ? NULL : kept_z + image, *mask = dropout_mask ? dropout_mask + image : NULL;
#define FIRST_LAYER_BACKWARD(vectors, patches)                                                                            \
    first_layer_backward_image(vectors, patches, s->width, f, kd, pooled_per_image, input_offset, element, input + n * in_size, \
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
        if (window_rows && dalpha) {
            /* Back to positions: each covered one's gradient, the threads' sums of its window row added in thread order. */
#pragma omp for schedule(static)
            for (int r = 0; r < rows_per_image; r++)
                add_thread_partials(dalpha + (long)position[r] * f, partials, threads, per_thread, (long)kd * f + f + (long)r * f, f);
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
    if (!window_rows) add_thread_partials(dalpha, partials, threads, per_thread, (long)kd * f + f, alpha_length);
}
