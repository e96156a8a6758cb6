/* pool_activation_timing.c: what an activation costs in a pooled convolution of the C library, its calls alternated
 * with ReLU's in one process, for the per-element PReLU figures of docs/performance.md.
 *   prelu_pool_activation_timing BATCH SIZE IN_CHANNELS FILTERS THREADS [CALLS]
 * A 3x3 'valid' convolution with bias of a SIZE x SIZE map, 2x2 max pooling and a dropout of 0.25, as the study's
 * layers (the study's first: 250 28 1 32; its second: 250 13 32 64), forward and backward, the input gradient only
 * where IN_CHANNELS > 1 (a first layer has none). ReLU, PReLU per element and channel-wise PReLU take turns call by
 * call, CALLS times each (default 100, after three untimed turns), so that the machine's slower and faster moments
 * fall on all three alike; the line printed gives each one's median forward and backward in milliseconds and each
 * PReLU's against ReLU's. */
#include "prelu.h"
#include "probe.h"

#include <string.h>

static float *filled(size_t count, unsigned multiplier, float scale) {
    return probe_filled("prelu_pool_activation_timing", count, multiplier, scale);
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *t, int count) {
    qsort(t, (size_t)count, sizeof(double), by_value);
    return count % 2 ? t[count / 2] : (t[count / 2 - 1] + t[count / 2]) / 2;
}

enum { ACTIVATIONS = 3 };
static const char *const names[ACTIVATIONS] = {"relu", "prelu", "prelu-channel"};

int main(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: prelu_pool_activation_timing BATCH SIZE IN_CHANNELS FILTERS THREADS [CALLS]\n");
        return 2;
    }
    int n = atoi(argv[1]), size = atoi(argv[2]), cin = atoi(argv[3]), f = atoi(argv[4]), threads = atoi(argv[5]);
    int calls = argc > 6 ? atoi(argv[6]) : 100;
    if (n < 1 || size < 4 || cin < 1 || f < 1 || threads < 1 || calls < 1) {
        fprintf(stderr, "prelu_pool_activation_timing: sizes, threads and calls must be positive, and SIZE at least 4 (one pooled value)\n");
        return 2;
    }
    prelu_set_threads(threads);
    int out_size = size - 2, pooled_size = out_size / 2;
    prelu_conv2d_shape s = {n, size, size, cin, f, 3, 3, 1, 1, 0, 0, out_size, out_size};
    prelu_conv2d_shape pool = {n, out_size, out_size, f, f, 2, 2, 2, 2, 0, 0, pooled_size, pooled_size};
    size_t in = (size_t)n * size * size * cin, out = (size_t)n * out_size * out_size * f, pooled = (size_t)n * pooled_size * pooled_size * f;
    size_t taps = (size_t)9 * cin * f, features = (size_t)out_size * out_size * f;
    float *x = filled(in, 2654435761u, 2.0f), *kernel = filled(taps, 40503u, 0.6f), *bias = filled((size_t)f, 7u, 0.2f);
    float *alpha = filled(features, 69069u, 0.6f), *g0 = filled(pooled, 1103515245u, 2.0f);
    float *z = filled(out, 1u, 1.0f), *y = filled(out, 1u, 1.0f), *result = filled(pooled, 1u, 1.0f), *mask = filled(pooled, 1u, 1.0f);
    float *dropped = filled(pooled, 1u, 1.0f), *g = filled(pooled, 1u, 1.0f), *dy = filled(out, 1u, 1.0f);
    float *dx = cin > 1 ? filled(in, 1u, 1.0f) : NULL, *dk = filled(taps, 1u, 1.0f), *db = filled((size_t)f, 1u, 1.0f);
    float *dalpha = filled(features, 1u, 1.0f);
    prelu_activation acts[ACTIVATIONS] = {
        {PRELU_RELU, 0.0f, 0, (int32_t)features, f, 0, NULL},
        {PRELU_PRELU, 0.0f, PRELU_ALPHA_PER_ELEMENT, (int32_t)features, f, (int32_t)features, NULL},
        {PRELU_PRELU, 0.0f, PRELU_ALPHA_CHANNEL_WISE, (int32_t)features, f, f, NULL},
    };
    double *forward = malloc(sizeof(double) * ACTIVATIONS * (size_t)calls), *backward = malloc(sizeof(double) * ACTIVATIONS * (size_t)calls);
    if (!forward || !backward) return 1;
    for (int turn = -3; turn < calls; turn++)
        for (int a = 0; a < ACTIVATIONS; a++) {
            const float *alphas = acts[a].kind == PRELU_PRELU ? alpha : NULL;
            prelu_dropout dropout = {0.25f, 1, (uint64_t)(turn + 3), mask, dropped};
            double start = probe_seconds();
            prelu_conv2d_pool_forward(&s, &acts[a], &pool, x, kernel, bias, alphas, z, y, result, &dropout);
            double forward_took = probe_seconds() - start;
            memcpy(g, g0, pooled * sizeof(float)); /* the backward takes dL/dpooled as workspace */
            start = probe_seconds();
            prelu_conv2d_pool_backward(&s, &acts[a], &pool, x, kernel, alphas, z, y, g, mask, dy, dx, dk, db, alphas ? dalpha : NULL);
            double backward_took = probe_seconds() - start;
            if (turn >= 0) {
                forward[a * calls + turn] = forward_took;
                backward[a * calls + turn] = backward_took;
            }
        }
    double fw[ACTIVATIONS], bw[ACTIVATIONS];
    for (int a = 0; a < ACTIVATIONS; a++) {
        fw[a] = median(forward + a * calls, calls) * 1e3;
        bw[a] = median(backward + a * calls, calls) * 1e3;
    }
    printf("%dx%dx%d -> %d, 2x2 max pooling, batch %d, %d thread(s), medians of %d calls each, the activations taking turns:", size,
           size, cin, f, n, threads, calls);
    for (int part = 0; part < 2; part++) {
        const double *t = part ? bw : fw;
        printf("%s %s %s %.3f ms", part ? ";" : "", part ? "backward" : "forward", names[0], t[0]);
        for (int a = 1; a < ACTIVATIONS; a++) printf(", %s %.3f ms (%+.1f%%)", names[a], t[a], (t[a] / t[0] - 1) * 100);
    }
    printf("\n");
    return 0;
}
