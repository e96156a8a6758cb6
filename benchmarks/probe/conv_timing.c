/* conv_timing.c: one convolution of the C library timed alone, for the per-convolution figures of docs/performance.md.
 *   prelu_conv_timing BATCH HEIGHT WIDTH IN_CHANNELS FILTERS PADDING THREADS [CALLS]
 * A 3x3 convolution of stride 1 (PADDING 0 'valid', 1 'same', 2 'full') without bias or activation, its inputs filled
 * with fixed values. Each of the forward, the input gradient alone and the kernel gradient alone is called CALLS times
 * (default 10); the line printed gives the best call of each in milliseconds and the GFLOP it executed
 * (prelu_flops_executed: Winograd's transforms and products, not the direct convolution's count). */
#include "prelu.h"
#include "probe.h"

static float *filled(size_t count, unsigned multiplier) { return probe_filled("prelu_conv_timing", count, multiplier, 1.0f); }

int main(int argc, char **argv) {
    if (argc < 8) {
        fprintf(stderr, "usage: prelu_conv_timing BATCH HEIGHT WIDTH IN_CHANNELS FILTERS PADDING THREADS [CALLS]\n");
        return 2;
    }
    int n = atoi(argv[1]), h = atoi(argv[2]), w = atoi(argv[3]), cin = atoi(argv[4]), f = atoi(argv[5]), pad = atoi(argv[6]);
    int threads = atoi(argv[7]), calls = argc > 8 ? atoi(argv[8]) : 10;
    if (n < 1 || h < 1 || w < 1 || cin < 1 || f < 1 || pad < 0 || pad > 2 || threads < 1 || calls < 1 || h + 2 * pad < 3 ||
        w + 2 * pad < 3) {
        fprintf(stderr, "prelu_conv_timing: sizes must be positive, PADDING 0 to 2, and the padded map at least 3x3\n");
        return 2;
    }
    prelu_set_threads(threads);
    prelu_conv2d_shape s = {n, h, w, cin, f, 3, 3, 1, 1, pad, pad, h + 2 * pad - 2, w + 2 * pad - 2};
    prelu_activation linear = {0};
    size_t in = (size_t)n * h * w * cin, out = (size_t)n * s.out_h * s.out_w * f, taps = (size_t)9 * cin * f;
    float *x = filled(in, 2654435761u), *kernel = filled(taps, 40503u), *y = filled(out, 1u), *dy0 = filled(out, 69069u);
    float *dy = filled(out, 1u), *dx = filled(in, 1u), *dk = filled(taps, 1u);
    double best[3] = {1e9, 1e9, 1e9};
    long long flops[3] = {0, 0, 0};
    for (int call = 0; call < calls; call++)
        for (int part = 0; part < 3; part++) {
            for (size_t i = 0; i < out; i++) dy[i] = dy0[i]; /* the backward takes dy in place */
            long long before = prelu_flops_executed();
            double start = probe_seconds();
            if (part == 0)
                prelu_conv2d_forward(&s, &linear, x, kernel, NULL, NULL, NULL, y);
            else
                prelu_conv2d_backward(&s, &linear, x, kernel, NULL, NULL, dy, part == 1 ? dx : NULL, part == 2 ? dk : NULL, NULL, NULL);
            double took = probe_seconds() - start;
            if (took < best[part]) best[part] = took;
            flops[part] = prelu_flops_executed() - before;
        }
    printf("%dx%dx%d -> %d, padding %d, batch %d, %d thread(s), best of %d: forward %.2f ms (%.4g GFLOP), input gradient %.2f ms "
           "(%.4g GFLOP), kernel gradient %.2f ms (%.4g GFLOP)\n",
           h, w, cin, f, pad, n, threads, calls, best[0] * 1e3, flops[0] * 1e-9, best[1] * 1e3, flops[1] * 1e-9, best[2] * 1e3, flops[2] * 1e-9);
    free(x), free(kernel), free(y), free(dy0), free(dy), free(dx), free(dk);
    return 0;
}
