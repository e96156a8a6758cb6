/* The C library's kernels on cases with known answers, with nothing but the library itself: the cases of the C#
 * conformance suite (tests/Shared/BackendConformanceTests.cs), their inputs made by the same generator (Det.Floats)
 * and their answers read from PyTorch's fixture (tests/reference/fixture.safetensors), within the suite's tolerances.
 * It runs wherever the library is built for, so that a cross-built library (Windows under Wine, arm64 under QEMU) is
 * checked where no .NET runs it:
 *   prelu_known_answers tests/reference/fixture.safetensors
 * Every kernel set the CPU runs, at 1 and 2 threads. Prints the sets and the number of cases; exits 1 on a failure. */
#include "prelu.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- The fixture: a safetensors file (8-byte header length, JSON header, then the tensors' bytes) ------------- */

static char *fixture;
static size_t fixture_size;
static const char *header, *data;

static int load_fixture(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: cannot open it (the fixture, tests/reference/fixture.safetensors)\n", path);
        return 0;
    }
    fseek(f, 0, SEEK_END);
    fixture_size = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    fixture = malloc(fixture_size + 1);
    if (!fixture || fread(fixture, 1, fixture_size, f) != fixture_size) {
        fclose(f);
        fprintf(stderr, "%s: cannot read its %zu bytes\n", path, fixture_size);
        return 0;
    }
    fclose(f);
    uint64_t length = 0;
    for (int i = 7; i >= 0; i--) length = length << 8 | (unsigned char)fixture[i];
    if (length + 8 > fixture_size) {
        fprintf(stderr, "%s: a header of %llu bytes in a file of %zu: not a safetensors file\n", path, (unsigned long long)length, fixture_size);
        return 0;
    }
    header = fixture + 8;
    data = header + length;
    fixture[8 + length - 1] = '\0'; /* the header's closing brace: ends the string searched below */
    return 1;
}

/* The float32 tensor `name` of the fixture (its element count in *count), or NULL. */
static const float *tensor(const char *name, long *count) {
    char key[160];
    snprintf(key, sizeof key, "\"%s\":", name);
    const char *entry = strstr(header, key);
    if (!entry) return NULL;
    const char *offsets = strstr(entry, "\"data_offsets\"");
    unsigned long long begin, end;
    if (!offsets || sscanf(strchr(offsets, '[') + 1, "%llu,%llu", &begin, &end) != 2) return NULL;
    *count = (long)((end - begin) / sizeof(float));
    return (const float *)(data + begin);
}

/* ---- Inputs: tests/Shared/Det.cs's generator, value for value ------------------------------------------------ */

static float *det(long length, uint64_t seed, double lo, double hi) {
    float *values = malloc((size_t)(length > 0 ? length : 1) * sizeof(float));
    for (long i = 0; i < length; i++) {
        uint64_t h = ((uint64_t)(i + 1) * 0x9E3779B1ULL + seed * 0x85EBCA77ULL) & 0xFFFFFFFFULL;
        h ^= h >> 15;
        h = (h * 0x2C1B3C6DULL) & 0xFFFFFFFFULL;
        h ^= h >> 12;
        values[i] = (float)(lo + (hi - lo) * ((double)h / 4294967296.0));
    }
    return values;
}

static float *zeros(long length) { return calloc((size_t)(length > 0 ? length : 1), sizeof(float)); }

/* ---- Checks: tests/Shared/Fixture.cs's Close.Assert ----------------------------------------------------------- */

#define FORWARD 1e-5
#define GRADIENT 1e-4

static int cases, failures;
static const char *current_set;
static int current_threads;

/* max |actual - expected| <= tolerance * max |expected|. */
static void check(const char *name, const float *actual, long length, double tolerance) {
    long count = 0;
    const float *expected = tensor(name, &count);
    cases++;
    if (!expected || count != length) {
        failures++;
        printf("FAIL %s (%s kernels, threads %d): %s\n", name, current_set, current_threads,
               expected ? "a length other than the fixture's" : "not in the fixture");
        return;
    }
    double scale = 1e-30, worst = 0;
    long worst_at = 0;
    for (long i = 0; i < length; i++) scale = fmax(scale, fabs(expected[i]));
    for (long i = 0; i < length; i++) {
        double error = isnan(actual[i]) ? INFINITY : fabs((double)actual[i] - expected[i]);
        if (error > worst) worst = error, worst_at = i;
    }
    if (worst / scale > tolerance) {
        failures++;
        printf("FAIL %s (%s kernels, threads %d): relative error %.2e > %.0e at element %ld (got %.9g, expected %.9g)\n", name, current_set,
               current_threads, worst / scale, tolerance, worst_at, actual[worst_at], expected[worst_at]);
    }
}

static void check_named(const char *prefix, const char *suffix, const float *actual, long length, double tolerance) {
    char name[128];
    snprintf(name, sizeof name, "%s.%s", prefix, suffix);
    check(name, actual, length, tolerance);
}

/* ---- Shapes: Prelu.Kernels.SpatialAxis.Resolve ------------------------------------------------------------------ */

static void resolve(int input, int window, int stride, int same, int32_t *output, int32_t *pad) {
    if (same) {
        *output = (input + stride - 1) / stride;
        int total = (*output - 1) * stride + window - input;
        *pad = total > 0 ? total / 2 : 0;
    } else {
        *output = input < window ? 0 : (input - window) / stride + 1;
        *pad = 0;
    }
}

static prelu_conv2d_shape shape(int n, int h, int w, int cin, int f, int kh, int kw, int sy, int sx, int same) {
    prelu_conv2d_shape s = {n, h, w, cin, f, kh, kw, sy, sx, 0, 0, 0, 0};
    resolve(h, kh, sy, same, &s.out_h, &s.pad_top);
    resolve(w, kw, sx, same, &s.out_w, &s.pad_left);
    return s;
}

static const prelu_activation linear = {PRELU_LINEAR, 0, 0, 0, 0, 0, NULL};

/* ---- The cases ---------------------------------------------------------------------------------------------- */

typedef struct conv_case {
    const char *name;
    int n, h, w, cin, f, kh, kw, sy, sx, same, seed;
} conv_case;

static const conv_case convolutions[] = {
    {"conv_valid", 2, 7, 6, 3, 5, 3, 2, 1, 1, 0, 100},
    {"conv_same_stride", 2, 9, 8, 2, 4, 3, 3, 2, 2, 1, 110},
    {"conv_same_odd", 3, 5, 7, 3, 2, 2, 4, 1, 3, 1, 120},
    {"conv_study1", 2, 28, 28, 1, 32, 3, 3, 1, 1, 0, 130},
    {"conv_study2", 2, 13, 13, 32, 64, 3, 3, 1, 1, 0, 140},
    {"conv_same_3x3", 2, 9, 7, 12, 20, 3, 3, 1, 1, 1, 150},
};

/* f is the depth multiplier here, as the C# case gives it. */
static const conv_case depthwise[] = {
    {"depthwise_valid", 2, 7, 6, 3, 1, 3, 2, 1, 1, 0, 150},
    {"depthwise_multiplier_same", 2, 9, 8, 4, 3, 3, 3, 2, 2, 1, 160},
    {"depthwise_odd", 3, 5, 7, 5, 2, 2, 4, 1, 3, 1, 170},
    {"depthwise_wide", 2, 10, 10, 64, 1, 3, 3, 1, 1, 1, 180},
};

static void convolution(const conv_case *c, int is_depthwise) {
    int filters = is_depthwise ? c->cin * c->f : c->f;
    prelu_conv2d_shape s = shape(c->n, c->h, c->w, c->cin, filters, c->kh, c->kw, c->sy, c->sx, c->same);
    long in = (long)s.batch * s.height * s.width * s.in_channels, out = (long)s.batch * s.out_h * s.out_w * filters;
    long kernel_length = (long)s.kernel_h * s.kernel_w * s.in_channels * (is_depthwise ? c->f : filters);
    float *x = det(in, c->seed, -1, 1), *k = det(kernel_length, c->seed + 1, -0.5, 0.5), *b = det(filters, c->seed + 2, -0.1, 0.1);
    float *y = zeros(out), *dy = det(out, c->seed + 3, -1, 1), *dx = zeros(in), *dk = zeros(kernel_length), *db = zeros(filters);
    if (is_depthwise) {
        prelu_depthwise_conv2d_forward(&s, &linear, x, k, b, NULL, NULL, y);
        prelu_depthwise_conv2d_backward(&s, &linear, x, k, NULL, NULL, dy, dx, dk, db, NULL);
    } else {
        prelu_conv2d_forward(&s, &linear, x, k, b, NULL, NULL, y);
        prelu_conv2d_backward(&s, &linear, x, k, NULL, NULL, dy, dx, dk, db, NULL);
    }
    check_named(c->name, "y", y, out, FORWARD);
    check_named(c->name, "dx", dx, in, GRADIENT);
    check_named(c->name, "dk", dk, kernel_length, GRADIENT);
    check_named(c->name, "db", db, filters, GRADIENT);
    free(x), free(k), free(b), free(y), free(dy), free(dx), free(dk), free(db);
}

/* The study's second convolution fused with its 2x2 max pooling (the winners' and Winograd's paths): the pooled
 * output against PyTorch's convolution output pooled here. */
static void convolution_pooled(void) {
    const conv_case *c = &convolutions[4];
    prelu_conv2d_shape s = shape(c->n, c->h, c->w, c->cin, c->f, c->kh, c->kw, 1, 1, 0);
    prelu_conv2d_shape pool = shape(c->n, s.out_h, s.out_w, c->f, c->f, 2, 2, 2, 2, 0);
    long in = (long)s.batch * s.height * s.width * s.in_channels, out = (long)s.batch * s.out_h * s.out_w * s.filters;
    long pooled_length = (long)pool.batch * pool.out_h * pool.out_w * s.filters, kernel_length = 9L * c->cin * c->f;
    float *x = det(in, c->seed, -1, 1), *k = det(kernel_length, c->seed + 1, -0.5, 0.5), *b = det(c->f, c->seed + 2, -0.1, 0.1);
    float *z = zeros(out), *y = zeros(out), *pooled = zeros(pooled_length), *expected = zeros(pooled_length);
    long count = 0;
    const float *conv = tensor("conv_study2.y", &count);
    for (int n = 0; n < pool.batch; n++)
        for (int py = 0; py < pool.out_h; py++)
            for (int px = 0; px < pool.out_w; px++)
                for (int f = 0; f < s.filters; f++) {
                    float best = -INFINITY;
                    for (int dy = 0; dy < 2; dy++)
                        for (int dx = 0; dx < 2; dx++)
                            best = fmaxf(best, conv[(((long)n * s.out_h + 2 * py + dy) * s.out_w + 2 * px + dx) * s.filters + f]);
                    expected[(((long)n * pool.out_h + py) * pool.out_w + px) * s.filters + f] = best;
                }
    prelu_conv2d_pool_forward(&s, &linear, &pool, x, k, b, NULL, z, y, pooled, NULL);
    double scale = 1e-30, worst = 0;
    for (long i = 0; i < pooled_length; i++) scale = fmax(scale, fabs(expected[i]));
    for (long i = 0; i < pooled_length; i++) worst = fmax(worst, isnan(pooled[i]) ? INFINITY : fabs(pooled[i] - expected[i]));
    cases++;
    if (worst / scale > FORWARD) {
        failures++;
        printf("FAIL conv_study2 pooled (%s kernels, threads %d): relative error %.2e\n", current_set, current_threads, worst / scale);
    }
    free(x), free(k), free(b), free(z), free(y), free(pooled), free(expected);
}

static void dense(void) {
    const int batch = 3, inputs = 17, units = 11;
    float *x = det(batch * inputs, 300, -1, 1), *k = det(inputs * units, 301, -0.5, 0.5), *b = det(units, 302, -0.1, 0.1);
    float *y = zeros(batch * units), *dy = det(batch * units, 303, -1, 1), *dx = zeros(batch * inputs), *dk = zeros(inputs * units),
          *db = zeros(units);
    prelu_dense_forward(batch, inputs, units, &linear, x, k, b, NULL, NULL, y);
    prelu_dense_backward(batch, inputs, units, &linear, x, k, NULL, NULL, dy, dx, dk, db, NULL);
    check("dense.y", y, batch * units, FORWARD);
    check("dense.dx", dx, batch * inputs, GRADIENT);
    check("dense.dk", dk, inputs * units, GRADIENT);
    check("dense.db", db, units, GRADIENT);
    free(x), free(k), free(b), free(y), free(dy), free(dx), free(dk), free(db);
}

typedef struct pool_case {
    const char *name;
    int n, h, w, c, pool, stride, same, seed, average;
} pool_case;

static const pool_case poolings[] = {
    {"pool_valid", 2, 7, 5, 3, 2, 2, 0, 200, 0},
    {"pool_same_stride", 2, 7, 7, 2, 3, 2, 1, 210, 0},
    {"pool_study", 2, 11, 11, 4, 2, 2, 0, 220, 0},
    {"avgpool_valid", 2, 7, 5, 3, 2, 2, 0, 230, 1},
    {"avgpool_same_stride", 2, 7, 7, 2, 3, 2, 1, 240, 1},
    {"avgpool_overlap", 2, 6, 6, 3, 3, 1, 0, 250, 1},
};

static void pooling(const pool_case *c) {
    prelu_conv2d_shape s = shape(c->n, c->h, c->w, c->c, c->c, c->pool, c->pool, c->stride, c->stride, c->same);
    long in = (long)c->n * c->h * c->w * c->c, out = (long)c->n * s.out_h * s.out_w * c->c;
    float *x = det(in, c->seed, -1, 1), *y = zeros(out), *dy = det(out, c->seed + 1, -1, 1), *dx = det(in, 9, -1, 1);
    if (c->average) {
        prelu_avgpool2d_forward(&s, x, y);
        prelu_avgpool2d_backward(&s, dy, dx);
    } else {
        prelu_maxpool2d_forward(&s, x, y);
        prelu_maxpool2d_backward(&s, x, dy, dx);
    }
    check_named(c->name, "y", y, out, FORWARD);
    check_named(c->name, "dx", dx, in, GRADIENT);
    free(x), free(y), free(dy), free(dx);
}

/* PReLU's alphas per element, per channel (shared over height and width), for all, and on a dense layer's output. */
typedef struct prelu_case {
    const char *name;
    int batch, features, channels, sharing, alphas, seed;
} prelu_case;

static const prelu_case prelus[] = {
    {"prelu_element", 2, 60, 3, PRELU_ALPHA_PER_ELEMENT, 60, 400},
    {"prelu_channel", 2, 60, 3, PRELU_ALPHA_CHANNEL_WISE, 3, 410},
    {"prelu_shared", 2, 60, 3, PRELU_ALPHA_SHARED, 1, 420},
    {"prelu_dense", 3, 7, 7, PRELU_ALPHA_PER_ELEMENT, 7, 440},
};

static void prelu(const prelu_case *c) {
    prelu_activation act = {PRELU_PRELU, 0, c->sharing, c->features, c->channels, c->alphas, NULL};
    long length = (long)c->batch * c->features;
    float *x = det(length, c->seed, -1, 1), *alpha = det(c->alphas, c->seed + 1, 0, 0.5), *y = zeros(length),
          *dy = det(length, c->seed + 2, -1, 1), *dx = zeros(length), *dalpha = zeros(c->alphas);
    prelu_activation_forward(c->batch, &act, x, alpha, y);
    prelu_activation_backward(c->batch, &act, x, alpha, dy, dx, dalpha);
    check_named(c->name, "y", y, length, FORWARD);
    check_named(c->name, "dx", dx, length, GRADIENT);
    check_named(c->name, "dalpha", dalpha, c->alphas, GRADIENT);
    free(x), free(alpha), free(y), free(dy), free(dx), free(dalpha);
}

typedef struct pointwise_case {
    const char *name;
    int kind;
    float parameter;
    int seed;
    double lo, hi;
} pointwise_case;

static const pointwise_case pointwise[] = {
    {"relu", PRELU_RELU, 0, 500, -1, 1},
    {"leaky_relu", PRELU_LEAKY_RELU, 0.1f, 500, -1, 1},
    {"act_sigmoid", PRELU_SIGMOID, 0, 510, -4, 4},
    {"act_tanh", PRELU_TANH, 0, 510, -4, 4},
    {"act_elu", PRELU_ELU, 1.0f, 510, -4, 4},
    {"act_elu_0.7", PRELU_ELU, 0.7f, 510, -4, 4},
    {"act_selu", PRELU_SELU, 0, 510, -4, 4},
    {"act_gelu", PRELU_GELU, 0, 510, -4, 4},
    {"act_softplus", PRELU_SOFTPLUS, 0, 510, -4, 4},
    {"act_swish", PRELU_SWISH, 0, 510, -4, 4},
};

static void activation(const pointwise_case *c) {
    prelu_activation act = {c->kind, c->parameter, 0, 36, 0, 0, NULL};
    float *x = det(36, c->seed, c->lo, c->hi), *y = zeros(36), *dy = det(36, c->seed + 1, -1, 1), *dx = zeros(36);
    prelu_activation_forward(1, &act, x, NULL, y);
    prelu_activation_backward(1, &act, x, NULL, dy, dx, NULL);
    check_named(c->name, "y", y, 36, FORWARD);
    check_named(c->name, "dx", dx, 36, GRADIENT);
    free(x), free(y), free(dy), free(dx);
}

typedef struct batchnorm_case {
    const char *name;
    int samples, rows, channels, seed, affine; /* rows: samples x positions */
    float momentum, epsilon;
} batchnorm_case;

static const batchnorm_case batchnorms[] = {
    {"batchnorm_map", 3, 3 * 4 * 5, 6, 280, 1, 0.99f, 1e-3f},
    {"batchnorm_flat", 5, 5, 7, 290, 1, 0.99f, 1e-3f},
    {"batchnorm_plain", 4, 4 * 3 * 3, 2, 300, 0, 0.9f, 1e-2f},
};

/* A linear activation over one sample of a case: the fused calls' second half with nothing after the normalisation. */
static prelu_activation linear_sample(const batchnorm_case *c) {
    prelu_activation linear = {.kind = PRELU_LINEAR, .feature_length = c->rows / c->samples * c->channels};
    return linear;
}

/* The normalisation on its own, or (fused) as the fused convolution's second half with a linear activation: the same
 * expected values either way. */
static void batchnorm_forward(const batchnorm_case *c, int fused, int training, const float *x, const float *g, const float *b,
                              float *mean, float *variance, float *y) {
    prelu_activation linear = linear_sample(c);
    if (fused)
        prelu_batchnorm_activation_forward(c->samples, c->rows / c->samples, c->channels, training, c->momentum, c->epsilon, x, g, b, mean,
                                           variance, &linear, NULL, NULL, y);
    else
        prelu_batchnorm_forward(c->rows, c->channels, training, c->momentum, c->epsilon, x, g, b, mean, variance, y);
}

static void batchnorm(const batchnorm_case *c, int fused) {
    long length = (long)c->rows * c->channels;
    float *x = det(length, c->seed, -2, 3), *gamma = det(c->channels, c->seed + 1, 0.5, 1.5), *beta = det(c->channels, c->seed + 2, -0.5, 0.5);
    float *mean = det(c->channels, c->seed + 3, -0.2, 0.2), *variance = det(c->channels, c->seed + 4, 0.5, 2.0);
    float *y = zeros(length), *dy = det(length, c->seed + 5, -1, 1), *dx = zeros(length), *dgamma = zeros(c->channels),
          *dbeta = zeros(c->channels);
    const float *g = c->affine ? gamma : NULL, *b = c->affine ? beta : NULL;
    batchnorm_forward(c, fused, 1, x, g, b, mean, variance, y);
    if (fused) {
        prelu_activation linear = linear_sample(c);
        memcpy(dx, dy, (size_t)length * sizeof(float)); /* dL/dy becomes dL/dx in place */
        prelu_batchnorm_activation_backward(c->samples, c->rows / c->samples, c->channels, c->epsilon, x, g, &linear, NULL, NULL, dx,
                                            c->affine ? dgamma : NULL, c->affine ? dbeta : NULL, NULL);
    } else {
        prelu_batchnorm_backward(c->rows, c->channels, c->epsilon, x, g, dy, dx, c->affine ? dgamma : NULL, c->affine ? dbeta : NULL);
    }
    check_named(c->name, "y", y, length, FORWARD);
    check_named(c->name, "dx", dx, length, GRADIENT);
    if (c->affine) {
        check_named(c->name, "dgamma", dgamma, c->channels, GRADIENT);
        check_named(c->name, "dbeta", dbeta, c->channels, GRADIENT);
    }
    check_named(c->name, "moving_mean", mean, c->channels, FORWARD);
    check_named(c->name, "moving_variance", variance, c->channels, FORWARD);
    free(mean), free(variance);
    mean = det(c->channels, c->seed + 3, -0.2, 0.2), variance = det(c->channels, c->seed + 4, 0.5, 2.0);
    batchnorm_forward(c, fused, 0, x, g, b, mean, variance, y);
    check_named(c->name, "inference", y, length, FORWARD);
    free(x), free(gamma), free(beta), free(mean), free(variance), free(y), free(dy), free(dx), free(dgamma), free(dbeta);
}

#define COUNT(a) (int)(sizeof(a) / sizeof((a)[0]))

static void all_cases(void) {
    for (int i = 0; i < COUNT(convolutions); i++) convolution(&convolutions[i], 0);
    convolution_pooled();
    for (int i = 0; i < COUNT(depthwise); i++) convolution(&depthwise[i], 1);
    dense();
    for (int i = 0; i < COUNT(poolings); i++) pooling(&poolings[i]);
    for (int i = 0; i < COUNT(prelus); i++) prelu(&prelus[i]);
    for (int i = 0; i < COUNT(pointwise); i++) activation(&pointwise[i]);
    for (int i = 0; i < COUNT(batchnorms); i++) batchnorm(&batchnorms[i], 0);
    for (int i = 0; i < COUNT(batchnorms); i++) batchnorm(&batchnorms[i], 1);
}

static const char *set_name(int32_t set) {
    switch (set) {
    case PRELU_KERNELS_PORTABLE: return "portable";
    case PRELU_KERNELS_AVX2: return "avx2";
    case PRELU_KERNELS_AVX512: return "avx512";
    case PRELU_KERNELS_NEON: return "neon";
    default: return "unknown";
    }
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s tests/reference/fixture.safetensors\n", argv[0]);
        return 2;
    }
    if (prelu_abi_version() != PRELU_ABI_VERSION) {
        fprintf(stderr, "libprelu has ABI version %d; this program was built for %d\n", prelu_abi_version(), PRELU_ABI_VERSION);
        return 1;
    }
    if (!load_fixture(argv[1])) return 1;
    long count = 0;
    const float *probe = tensor("det.probe", &count);
    float *mine = det(64, 7, -1, 1);
    if (!probe || count != 64 || memcmp(probe, mine, sizeof(float) * 64) != 0) {
        fprintf(stderr, "%s: det.probe differs from this program's generator (tests/Shared/Det.cs)\n", argv[1]);
        return 1;
    }
    free(mine);
    int32_t best = prelu_kernels_in_use();
    printf("libprelu %s (ABI %d), cpu features 0x%x, best kernel set: %s\n", prelu_version(), prelu_abi_version(), prelu_cpu_features(),
           set_name(best));
    const int32_t sets[] = {PRELU_KERNELS_PORTABLE, PRELU_KERNELS_AVX2, PRELU_KERNELS_AVX512, PRELU_KERNELS_NEON};
    for (int i = 0; i < COUNT(sets); i++) {
        if (!prelu_kernels_supported(sets[i])) continue;
        prelu_select_kernels(sets[i]);
        current_set = set_name(sets[i]);
        for (int threads = 1; threads <= 2; threads++) {
            int cases_before = cases, failures_before = failures;
            current_threads = threads;
            prelu_set_threads(threads);
            all_cases();
            printf("kernel set %s, %d thread%s: %d of %d cases passed\n", current_set, threads, threads == 1 ? "" : "s",
                   (cases - cases_before) - (failures - failures_before), cases - cases_before);
        }
    }
    prelu_select_kernels(PRELU_KERNELS_BEST);
    printf("%s: %d cases, %d failed\n", failures ? "FAILED" : "passed", cases, failures);
    free(fixture);
    return failures ? 1 : 0;
}
