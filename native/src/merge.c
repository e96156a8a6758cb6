/* merge.c: Keras's merge layers (Add, Multiply, Average, Maximum) and Concatenate, and the sum of a tensor's
 * gradients where several layers read it. Element by element and memory-bound, so plain C for any CPU (the
 * compiler vectorises the loops), threaded over elements. Each element's operations are those of
 * Prelu.Reference.Merge, in the same order (a fold over the inputs), so every backend gives the same bits. */
#include <string.h>

#include "internal.h"

/* Add and Average of two inputs, a residual block's merge: one loop the compiler vectorises (the general loop below picks
 * each element's operation and input in turn and was not), the same operations per element. */
static int merge_two_forward(int64_t length, int32_t kind, int32_t count, const float *const *inputs, float *y) {
    if (count != 2 || (kind != PRELU_MERGE_ADD && kind != PRELU_MERGE_AVERAGE)) return 0;
    const float *a = inputs[0], *b = inputs[1];
    if (kind == PRELU_MERGE_ADD) {
#pragma omp parallel for simd schedule(static) num_threads(prelu_thread_count())
        for (int64_t e = 0; e < length; e++) y[e] = a[e] + b[e];
    } else {
#pragma omp parallel for simd schedule(static) num_threads(prelu_thread_count())
        for (int64_t e = 0; e < length; e++) y[e] = (a[e] + b[e]) / 2.0f;
    }
    return 1;
}

void prelu_merge_forward(int64_t length, int32_t kind, int32_t count, const float *const *inputs, float *y) {
    if (merge_two_forward(length, kind, count, inputs, y)) return;
    const float n = (float)count;
#pragma omp parallel for schedule(static) num_threads(prelu_thread_count())
    for (int64_t e = 0; e < length; e++) {
        float acc = inputs[0][e];
        for (int32_t i = 1; i < count; i++) {
            float x = inputs[i][e];
            acc = kind == PRELU_MERGE_MULTIPLY ? acc * x : kind == PRELU_MERGE_MAXIMUM ? (x > acc ? x : acc) : acc + x;
        }
        y[e] = kind == PRELU_MERGE_AVERAGE ? acc / n : acc;
    }
}

void prelu_merge_backward(int64_t length, int32_t kind, int32_t count, const float *const *inputs, const float *y,
                          const float *dy, float *const *dx) {
    const float n = (float)count;
    for (int32_t i = 0; i < count; i++) {
        float *d = dx[i];
        if (!d) continue;
        if (kind == PRELU_MERGE_ADD) {
            /* Each input's gradient is dy itself: a copy, in one vectorised loop. */
#pragma omp parallel for simd schedule(static) num_threads(prelu_thread_count())
            for (int64_t e = 0; e < length; e++) d[e] = dy[e];
            continue;
        }
        const float *xi = inputs[i];
#pragma omp parallel for schedule(static) num_threads(prelu_thread_count())
        for (int64_t e = 0; e < length; e++) {
            float g = kind == PRELU_MERGE_AVERAGE ? dy[e] / n : kind == PRELU_MERGE_MAXIMUM ? (xi[e] == y[e] ? dy[e] : 0.0f) : dy[e];
            if (kind == PRELU_MERGE_MULTIPLY) {
                for (int32_t j = 0; j < count; j++)
                    if (j != i) g *= inputs[j][e];
            } else if (kind == PRELU_MERGE_MAXIMUM) {
                for (int32_t j = 0; j < i; j++) /* the first input that holds the maximum takes its gradient */
                    if (inputs[j][e] == y[e]) g = 0.0f;
            }
            d[e] = g;
        }
    }
}

void prelu_concatenate_forward(int64_t rows, int32_t count, const int32_t *widths, const float *const *inputs, float *y) {
    int64_t total = 0;
    for (int32_t i = 0; i < count; i++) total += widths[i];
#pragma omp parallel for schedule(static) num_threads(prelu_thread_count())
    for (int64_t r = 0; r < rows; r++) {
        int64_t offset = 0;
        for (int32_t i = 0; i < count; i++) {
            memcpy(y + r * total + offset, inputs[i] + r * widths[i], sizeof(float) * (size_t)widths[i]);
            offset += widths[i];
        }
    }
}

void prelu_concatenate_backward(int64_t rows, int32_t count, const int32_t *widths, const float *dy, float *const *dx) {
    int64_t total = 0;
    for (int32_t i = 0; i < count; i++) total += widths[i];
#pragma omp parallel for schedule(static) num_threads(prelu_thread_count())
    for (int64_t r = 0; r < rows; r++) {
        int64_t offset = 0;
        for (int32_t i = 0; i < count; i++) {
            if (dx[i]) memcpy(dx[i] + r * widths[i], dy + r * total + offset, sizeof(float) * (size_t)widths[i]);
            offset += widths[i];
        }
    }
}

void prelu_accumulate(int64_t length, const float *gradient, float *total) {
#pragma omp parallel for simd schedule(static) num_threads(prelu_thread_count())
    for (int64_t e = 0; e < length; e++) total[e] += gradient[e];
}
