/* dense.h: fully connected layer (+ bias + activation), forward and backward; each product splits its rows
 * between the threads. */

static void dense_forward(int32_t batch, int32_t inputs, int32_t units, const prelu_activation *act, const float *input,
                          const float *kernel, const float *bias, const float *alpha, float *z, float *y) {
    int linear = act->kind == PRELU_LINEAR;
    float *out = linear ? y : z;
    gemm_parallel(batch, units, inputs, view(input, inputs, 1), view(kernel, units, 1), out, units, 0);
#pragma omp parallel for schedule(static) num_threads(prelu_thread_count())
    for (int b = 0; b < batch; b++) {
        float *row = out + (long)b * units;
        if (bias)
            for (int u = 0; u < units; u++) row[u] += bias[u];
        if (!linear) activate(act, alpha, 0, units, row, y + (long)b * units);
    }
}

static void dense_backward(int32_t batch, int32_t inputs, int32_t units, const prelu_activation *act, const float *input,
                           const float *kernel, const float *alpha, const float *z, float *dy, float *dx, float *dkernel,
                           float *dbias, float *dalpha) {
    if (act->kind != PRELU_LINEAR) {
        if (dalpha) memset(dalpha, 0, (size_t)act->alpha_length * sizeof(float));
        /* Small (batch x units): one pass, in order, so the alpha sums need no reduction. */
        for (int b = 0; b < batch; b++)
            activate_backward(act, alpha, 0, units, z + (long)b * units, dy + (long)b * units, dalpha);
    }
    if (dbias) {
        memset(dbias, 0, (size_t)units * sizeof(float));
        for (int b = 0; b < batch; b++)
            for (int u = 0; u < units; u++) dbias[u] += dy[(long)b * units + u];
    }
    /* dkernel (I x U) = input^T (I x B) * dy (B x U) */
    gemm_parallel(inputs, units, batch, view(input, 1, inputs), view(dy, units, 1), dkernel, units, 0);
    /* dx (B x I) = dy (B x U) * kernel^T (U x I), the kernel read transposed */
    if (dx) gemm_parallel(batch, inputs, units, view(dy, units, 1), view(kernel, 1, units), dx, inputs, 0);
}
