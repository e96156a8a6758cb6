/* dense.h: fully connected layer (+ bias + activation), forward and backward; each product splits its rows
 * between the threads. */

/* At most this many rows (a prediction of one image, or a few) skip the GEMM: packing the kernel into panels for
 * them would cost more than the product itself, which reads the kernel once whatever the order. */
#define DENSE_FEW_ROWS 8

/* Columns and rows of the register block of the few-rows product: 4 x 64 accumulators in 16 of AVX-512's zmm registers,
 * 4 x 32 in 16 ymm elsewhere. */
#if defined(PRELU_AVX512)
#define DENSE_FEW_COLUMNS 64
#else
#define DENSE_FEW_COLUMNS 32
#endif
#define DENSE_FEW_BLOCK_ROWS 4

/* out (rows x U) = input (rows x I) * kernel (I x U) for a few rows: a block of columns of up to four rows accumulates
 * in registers while the kernel's rows stream past, each kernel element read once per four rows; every output is the
 * sum over the inputs in order. One thread: the work is one pass over the kernel, and a second thread's start costs
 * about as much. */
static void dense_forward_few(int32_t rows, int32_t inputs, int32_t units, const float *input, const float *kernel, float *out) {
    prelu_count_flops(2 * (int64_t)rows * inputs * units);
    for (int r0 = 0; r0 < rows; r0 += DENSE_FEW_BLOCK_ROWS) {
        int nr = min_int(DENSE_FEW_BLOCK_ROWS, rows - r0);
        for (int u0 = 0; u0 < units; u0 += DENSE_FEW_COLUMNS) {
            int nu = min_int(DENSE_FEW_COLUMNS, units - u0);
            float acc[DENSE_FEW_BLOCK_ROWS][DENSE_FEW_COLUMNS] = {{0}};
            if (nr == DENSE_FEW_BLOCK_ROWS && nu == DENSE_FEW_COLUMNS) {
                for (int p = 0; p < inputs; p++) {
                    const float *w = kernel + (long)p * units + u0;
                    for (int r = 0; r < DENSE_FEW_BLOCK_ROWS; r++) {
                        const float x = input[(long)(r0 + r) * inputs + p];
                        for (int u = 0; u < DENSE_FEW_COLUMNS; u++) acc[r][u] += x * w[u];
                    }
                }
            } else if (nr == 2 && nu == DENSE_FEW_COLUMNS) {
                const float *x0 = input + (long)r0 * inputs, *x1 = x0 + inputs;
                for (int p = 0; p < inputs; p++) {
                    const float *w = kernel + (long)p * units + u0;
                    for (int u = 0; u < DENSE_FEW_COLUMNS; u++) {
                        acc[0][u] += x0[p] * w[u];
                        acc[1][u] += x1[p] * w[u];
                    }
                }
            } else if (nr == 1 && nu == DENSE_FEW_COLUMNS) { /* one image: a prediction's most common call */
                const float *x = input + (long)r0 * inputs;
                for (int p = 0; p < inputs; p++) {
                    const float *w = kernel + (long)p * units + u0;
                    for (int u = 0; u < DENSE_FEW_COLUMNS; u++) acc[0][u] += x[p] * w[u];
                }
            } else {
                for (int p = 0; p < inputs; p++) {
                    const float *w = kernel + (long)p * units + u0;
                    for (int r = 0; r < nr; r++) {
                        const float x = input[(long)(r0 + r) * inputs + p];
                        for (int u = 0; u < nu; u++) acc[r][u] += x * w[u];
                    }
                }
            }
            for (int r = 0; r < nr; r++) memcpy(out + (long)(r0 + r) * units + u0, acc[r], (size_t)nu * sizeof(float));
        }
    }
}

static void dense_forward(int32_t batch, int32_t inputs, int32_t units, const prelu_activation *act, const float *input,
                          const float *kernel, const float *bias, const float *alpha, float *z, float *y) {
    float *out = act->kind == PRELU_LINEAR ? y : z;
    if (batch <= DENSE_FEW_ROWS) {
        dense_forward_few(batch, inputs, units, input, kernel, out);
        for (int b = 0; b < batch; b++) bias_activate(act, alpha, bias, 0, units, out + (long)b * units, y + (long)b * units);
        return;
    }
    gemm_parallel(batch, units, inputs, view(input, inputs, 1), view(kernel, units, 1), out, units, 0);
#pragma omp parallel for schedule(static) num_threads(prelu_thread_count())
    for (int b = 0; b < batch; b++) bias_activate(act, alpha, bias, 0, units, out + (long)b * units, y + (long)b * units);
}

static void dense_backward(int32_t batch, int32_t inputs, int32_t units, const prelu_activation *act, const float *input,
                           const float *kernel, const float *alpha, const float *z, float *dy, float *dx, float *dkernel,
                           float *dbias, float *dalpha) {
    /* dL/dy -> dL/dz in place and the bias and alpha sums, the rows split between the threads; each thread's
     * sums added in thread order afterwards (no atomics, the same bits every run). */
    int threads = prelu_thread_count(), alpha_length = act->kind == PRELU_PRELU ? act->alpha_length : 0;
    long per_thread = units + alpha_length;
    float *partials = thread_partials(threads, per_thread);
#pragma omp parallel num_threads(threads)
    {
        float *db = partials + omp_get_thread_num() * per_thread, *da = db + units;
#pragma omp for schedule(static)
        for (int b = 0; b < batch; b++)
            bias_activate_backward(act, alpha, 0, units, z ? z + (long)b * units : NULL, dy + (long)b * units, db, da);
    }
    add_thread_partials(dbias, partials, threads, per_thread, 0, units);
    add_thread_partials(dalpha, partials, threads, per_thread, units, alpha_length);
    /* dkernel (I x U) = input^T (I x B) * dy (B x U) */
    gemm_parallel(inputs, units, batch, view(input, 1, inputs), view(dy, units, 1), dkernel, units, 0);
    /* dx (B x I) = dy (B x U) * kernel^T (U x I), the kernel read transposed */
    if (dx) gemm_parallel(batch, inputs, units, view(dy, units, 1), view(kernel, 1, units), dx, inputs, 0);
}
