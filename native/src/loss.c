/* loss.c: every loss of Prelu.Kernels.LossKind with its gradient, a sample at a time in plain C (a batch's
 * loss is a few thousand floats: nothing here is worth a vector kernel or a thread). Each sample's operations
 * are those of Prelu.Reference.Loss in the same order, so the metrics and gradients agree with the reference
 * to the last bit where the math library's expf and logf do. */
#include <math.h>
#include <string.h>

#include "internal.h"

static int arg_max(const float *v, int n) {
    int best = 0;
    for (int k = 1; k < n; k++)
        if (v[k] > v[best]) best = k;
    return best;
}

/* p = softmax(z); returns max and sets *sum to sum_k exp(z_k - max). */
static float softmax_row(const float *z, float *p, int n, float *sum) {
    float max = z[0];
    for (int k = 1; k < n; k++) max = z[k] > max ? z[k] : max;
    float s = 0.0f;
    for (int k = 0; k < n; k++) {
        p[k] = expf(z[k] - max);
        s += p[k];
    }
    for (int k = 0; k < n; k++) p[k] /= s;
    *sum = s;
    return max;
}

static float element_loss(int32_t kind, float delta, float z, float y, float e) {
    switch (kind) {
    case PRELU_LOSS_BINARY_CROSSENTROPY: return (z > 0.0f ? z : 0.0f) - z * y + log1pf(expf(-fabsf(z)));
    case PRELU_LOSS_MEAN_SQUARED_ERROR: return e * e;
    case PRELU_LOSS_MEAN_ABSOLUTE_ERROR: return fabsf(e);
    default: {
        float a = fabsf(e);
        return a <= delta ? 0.5f * e * e : delta * (a - 0.5f * delta);
    }
    }
}

/* The element's gradient before the mean's 1 / (B K). */
static float element_gradient(int32_t kind, float delta, float e) {
    switch (kind) {
    case PRELU_LOSS_BINARY_CROSSENTROPY: return e;
    case PRELU_LOSS_MEAN_SQUARED_ERROR: return 2.0f * e;
    case PRELU_LOSS_MEAN_ABSOLUTE_ERROR: return e > 0.0f ? 1.0f : e < 0.0f ? -1.0f : 0.0f;
    default: return e < -delta ? -delta : e > delta ? delta : e;
    }
}

static void predict(int32_t kind, int32_t batch, int32_t outputs, const float *z, float *predictions) {
    int64_t length = (int64_t)batch * outputs;
    if (kind == PRELU_LOSS_CATEGORICAL_CROSSENTROPY || kind == PRELU_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY) {
        float sum;
        for (int b = 0; b < batch; b++) softmax_row(z + (int64_t)b * outputs, predictions + (int64_t)b * outputs, outputs, &sum);
    } else if (kind == PRELU_LOSS_BINARY_CROSSENTROPY) {
        for (int64_t i = 0; i < length; i++) predictions[i] = 1.0f / (1.0f + expf(-z[i]));
    } else if (predictions != z) {
        memcpy(predictions, z, (size_t)length * sizeof(float));
    }
}

void prelu_loss(int32_t kind, float delta, int32_t batch, int32_t outputs, const float *z, const float *targets,
                float *predictions, float *dz, float *metrics) {
    predict(kind, batch, outputs, z, predictions);
    if (!targets) return;
    const float inverse_batch = 1.0f / (float)batch, scale = 1.0f / (float)((int64_t)batch * outputs), count = (float)outputs;
    float loss_sum = 0.0f, correct = 0.0f, absolute_sum = 0.0f, squared_sum = 0.0f;
    for (int b = 0; b < batch; b++) {
        const float *zb = z + (int64_t)b * outputs;
        const float *p = predictions + (int64_t)b * outputs;
        float *g = dz ? dz + (int64_t)b * outputs : NULL;
        float sample = 0.0f, hits = 0.0f, absolute = 0.0f, squared = 0.0f;
        if (kind == PRELU_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY) {
            float index = targets[b];
            int valid = index >= 0.0f && index < count && index == floorf(index);
            int target = valid ? (int)index : -1;
            if (valid) {
                float max = zb[0], sum = 0.0f;
                for (int k = 1; k < outputs; k++) max = zb[k] > max ? zb[k] : max;
                for (int k = 0; k < outputs; k++) sum += expf(zb[k] - max);
                sample = max + logf(sum) - zb[target];
            } else {
                sample = NAN;
            }
            hits = valid && arg_max(p, outputs) == target ? 1.0f : 0.0f;
            for (int k = 0; k < outputs; k++) {
                float e = p[k] - (k == target ? 1.0f : 0.0f);
                absolute += fabsf(e);
                squared += e * e;
                if (g) g[k] = valid ? e * inverse_batch : 0.0f;
            }
        } else {
            const float *y = targets + (int64_t)b * outputs;
            if (kind == PRELU_LOSS_CATEGORICAL_CROSSENTROPY) {
                /* -sum_k y_k log softmax(z)_k; its gradient p_k sum(y) - y_k is p - y for a one-hot row */
                float max = zb[0], sum = 0.0f, y_sum = 0.0f;
                for (int k = 1; k < outputs; k++) max = zb[k] > max ? zb[k] : max;
                for (int k = 0; k < outputs; k++) sum += expf(zb[k] - max);
                float log_sum = logf(sum);
                for (int k = 0; k < outputs; k++) {
                    sample -= y[k] * (zb[k] - max - log_sum);
                    y_sum += y[k];
                }
                hits = arg_max(p, outputs) == arg_max(y, outputs) ? 1.0f : 0.0f;
                if (g)
                    for (int k = 0; k < outputs; k++) g[k] = (p[k] * y_sum - y[k]) * inverse_batch;
            } else {
                for (int k = 0; k < outputs; k++) {
                    float e = p[k] - y[k];
                    sample += element_loss(kind, delta, zb[k], y[k], e);
                    if (kind == PRELU_LOSS_BINARY_CROSSENTROPY && (p[k] > 0.5f ? 1.0f : 0.0f) == y[k]) hits += 1.0f;
                    if (g) g[k] = element_gradient(kind, delta, e) * scale;
                }
                sample /= count;
                hits /= count;
            }
            for (int k = 0; k < outputs; k++) {
                float e = p[k] - y[k];
                absolute += fabsf(e);
                squared += e * e;
            }
        }
        loss_sum += sample;
        correct += hits;
        absolute_sum += absolute / count;
        squared_sum += squared / count;
    }
    if (metrics) {
        metrics[0] += loss_sum;
        metrics[1] += correct;
        metrics[2] += absolute_sum;
        metrics[3] += squared_sum;
    }
}
