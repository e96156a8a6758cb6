/* dense.h: fully connected layer (+ bias + activation), forward and backward; each product splits its rows
 * between the threads. */

static void dense_forward(int32_t batch, int32_t inputs, int32_t units, const prelu_activation *act, const float *input,
                          const float *kernel, const float *bias, const float *alpha, float *z, float *y) {
    float *out = act->kind == PRELU_LINEAR ? y : z;
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
