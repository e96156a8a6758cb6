/* merge.c: Keras's merge layers (Add, Multiply, Average, Maximum) and Concatenate, and the sum of a tensor's
 * gradients where several layers read it. Element by element and memory-bound, so plain C for any CPU (the
 * compiler vectorises the loops), threaded over elements. Each element's operations are those of
 * Prelu.Reference.Merge, in the same order (a fold over the inputs), so every backend gives the same bits. */
#include <string.h>

#include "internal.h"

/* Elements a thread folds at a time: the block's running results stay in L1 while each input is folded into them. */
#define MERGE_BLOCK 2048

/* acc = a (op) x element by element (a may be acc), in one loop per operation the compiler vectorises. */
static inline void merge_fold(int32_t kind, int64_t n, const float *a, const float *restrict x, float *acc) {
    switch (kind) {
    case PRELU_MERGE_MULTIPLY:
#pragma omp simd
        for (int64_t e = 0; e < n; e++) acc[e] = a[e] * x[e];
        break;
    case PRELU_MERGE_MAXIMUM:
#pragma omp simd
        for (int64_t e = 0; e < n; e++) acc[e] = x[e] > a[e] ? x[e] : a[e];
        break;
    default: /* Add, Average */
#pragma omp simd
        for (int64_t e = 0; e < n; e++) acc[e] = a[e] + x[e];
    }
}

/* Block by block, the inputs folded in order into the block's results: in y itself, or where y is one of the inputs,
 * in a block of the thread's own that is copied to y once every input is in. */
void prelu_merge_forward(int64_t length, int32_t kind, int32_t count, const float *const *inputs, float *y) {
    const float n = (float)count;
    int y_is_input = 0;
    for (int32_t i = 0; i < count; i++) y_is_input |= inputs[i] == y;
    int64_t blocks = (length + MERGE_BLOCK - 1) / MERGE_BLOCK;
#pragma omp parallel for schedule(static) num_threads(prelu_thread_count())
    for (int64_t b = 0; b < blocks; b++) {
        float own[MERGE_BLOCK];
        int64_t e0 = b * MERGE_BLOCK, size = length - e0 < MERGE_BLOCK ? length - e0 : MERGE_BLOCK;
        float *acc = y_is_input ? own : y + e0;
        if (count == 1) memcpy(acc, inputs[0] + e0, (size_t)size * sizeof(float));
        for (int32_t i = 1; i < count; i++) merge_fold(kind, size, i == 1 ? inputs[0] + e0 : acc, inputs[i] + e0, acc);
        if (kind == PRELU_MERGE_AVERAGE) {
#pragma omp simd
            for (int64_t e = 0; e < size; e++) acc[e] /= n;
        }
        if (y_is_input) memcpy(y + e0, own, (size_t)size * sizeof(float));
    }
}

void prelu_merge_backward(int64_t length, int32_t kind, int32_t count, const float *const *inputs, const float *y,
                          const float *dy, float *const *dx) {
    const float n = (float)count;
    for (int32_t i = 0; i < count; i++) {
        float *d = dx[i];
        if (!d) continue;
        if (kind == PRELU_MERGE_ADD || kind == PRELU_MERGE_AVERAGE) {
            /* Each input's gradient is dy itself (or dy / n): one loop the compiler vectorises. */
            int average = kind == PRELU_MERGE_AVERAGE;
#pragma omp parallel for simd schedule(static) num_threads(prelu_thread_count())
            for (int64_t e = 0; e < length; e++) d[e] = average ? dy[e] / n : dy[e];
            continue;
        }
        const float *xi = inputs[i];
#pragma omp parallel for schedule(static) num_threads(prelu_thread_count())
        for (int64_t e = 0; e < length; e++) {
            float g = kind == PRELU_MERGE_MAXIMUM ? (xi[e] == y[e] ? dy[e] : 0.0f) : dy[e];
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
