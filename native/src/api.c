/* api.c: the exported kernels. The hot ones go to the AVX2/FMA or the portable build, chosen at run
 * time; the small ones (loss, SGD, penalties) are plain C here. */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "internal.h"

void prelu_conv2d_forward(const prelu_conv2d_shape *s, const prelu_activation *act, const float *input,
                          const float *kernel, const float *bias, const float *alpha, float *z, float *y) {
    prelu_active_kernels()->conv2d_pool_forward(s, act, NULL, input, kernel, bias, alpha, z, y, NULL, NULL);
}

void prelu_conv2d_backward(const prelu_conv2d_shape *s, const prelu_activation *act, const float *input,
                           const float *kernel, const float *alpha, const float *z, float *dy, float *dx,
                           float *dkernel, float *dbias, float *dalpha) {
    prelu_active_kernels()->conv2d_pool_backward(s, act, NULL, input, kernel, alpha, z, NULL, NULL, NULL, dy, dx, dkernel, dbias, dalpha);
}

void prelu_conv2d_pool_forward(const prelu_conv2d_shape *s, const prelu_activation *act, const prelu_conv2d_shape *pool,
                               const float *input, const float *kernel, const float *bias, const float *alpha, float *z,
                               float *y, float *pooled, const prelu_dropout *dropout) {
    prelu_active_kernels()->conv2d_pool_forward(s, act, pool, input, kernel, bias, alpha, z, y, pooled, dropout);
}

void prelu_conv2d_pool_backward(const prelu_conv2d_shape *s, const prelu_activation *act, const prelu_conv2d_shape *pool,
                                const float *input, const float *kernel, const float *alpha, const float *z, const float *y,
                                float *dpooled, const float *dropout_mask, float *dy, float *dx, float *dkernel, float *dbias,
                                float *dalpha) {
    prelu_active_kernels()->conv2d_pool_backward(s, act, pool, input, kernel, alpha, z, y, dpooled, dropout_mask, dy, dx, dkernel, dbias, dalpha);
}

void prelu_conv2d_batchnorm_inference(const prelu_conv2d_shape *s, const prelu_activation *act, const float *input, const float *kernel,
                                      const float *bias, const float *gamma, const float *beta, const float *moving_mean,
                                      const float *moving_variance, float epsilon, const float *alpha, float *z, float *y) {
    prelu_active_kernels()->conv2d_batchnorm_inference(s, act, input, kernel, bias, gamma, beta, moving_mean, moving_variance, epsilon,
                                                       alpha, z, y);
}

void prelu_depthwise_conv2d_forward(const prelu_conv2d_shape *s, const prelu_activation *act, const float *input,
                                    const float *kernel, const float *bias, const float *alpha, float *z, float *y) {
    prelu_active_kernels()->depthwise_forward(s, act, input, kernel, bias, alpha, z, y);
}

void prelu_depthwise_conv2d_backward(const prelu_conv2d_shape *s, const prelu_activation *act, const float *input,
                                     const float *kernel, const float *alpha, const float *z, float *dy, float *dx,
                                     float *dkernel, float *dbias, float *dalpha) {
    prelu_active_kernels()->depthwise_backward(s, act, input, kernel, alpha, z, dy, dx, dkernel, dbias, dalpha);
}

void prelu_dense_forward(int32_t batch, int32_t inputs, int32_t units, const prelu_activation *act, const float *input,
                         const float *kernel, const float *bias, const float *alpha, float *z, float *y) {
    prelu_active_kernels()->dense_forward(batch, inputs, units, act, input, kernel, bias, alpha, z, y);
}

void prelu_dense_backward(int32_t batch, int32_t inputs, int32_t units, const prelu_activation *act, const float *input,
                          const float *kernel, const float *alpha, const float *z, float *dy, float *dx, float *dkernel,
                          float *dbias, float *dalpha) {
    prelu_active_kernels()->dense_backward(batch, inputs, units, act, input, kernel, alpha, z, dy, dx, dkernel, dbias, dalpha);
}

void prelu_maxpool2d_forward(const prelu_conv2d_shape *s, const float *input, float *y) {
    prelu_active_kernels()->maxpool2d_forward(s, input, y);
}

void prelu_maxpool2d_backward(const prelu_conv2d_shape *s, const float *input, const float *dy, float *dx) {
    prelu_active_kernels()->maxpool2d_backward(s, input, dy, dx);
}

void prelu_avgpool2d_forward(const prelu_conv2d_shape *s, const float *input, float *y) {
    prelu_active_kernels()->avgpool2d_forward(s, input, y);
}

void prelu_avgpool2d_backward(const prelu_conv2d_shape *s, const float *dy, float *dx) {
    prelu_active_kernels()->avgpool2d_backward(s, dy, dx);
}

void prelu_batchnorm_forward(int32_t rows, int32_t channels, int32_t training, float momentum, float epsilon, const float *x,
                             const float *gamma, const float *beta, float *moving_mean, float *moving_variance, float *y) {
    prelu_active_kernels()->batchnorm_forward(rows, channels, training, momentum, epsilon, x, gamma, beta, moving_mean,
                                              moving_variance, y);
}

void prelu_batchnorm_backward(int32_t rows, int32_t channels, float epsilon, const float *x, const float *gamma,
                              const float *dy, float *dx, float *dgamma, float *dbeta) {
    prelu_active_kernels()->batchnorm_backward(rows, channels, epsilon, x, gamma, dy, dx, dgamma, dbeta);
}

void prelu_batchnorm_activation_forward(int32_t batch, int32_t positions, int32_t channels, int32_t training, float momentum,
                                        float epsilon, const float *x, const float *gamma, const float *beta, float *moving_mean,
                                        float *moving_variance, const prelu_activation *act, const float *alpha, float *z, float *y) {
    prelu_active_kernels()->batchnorm_activation_forward(batch, positions, channels, training, momentum, epsilon, x, gamma, beta,
                                                         moving_mean, moving_variance, act, alpha, z, y);
}

void prelu_batchnorm_activation_backward(int32_t batch, int32_t positions, int32_t channels, float epsilon, const float *x,
                                         const float *gamma, const prelu_activation *act, const float *alpha, const float *z,
                                         float *dy, float *dgamma, float *dbeta, float *dalpha) {
    prelu_active_kernels()->batchnorm_activation_backward(batch, positions, channels, epsilon, x, gamma, act, alpha, z, dy, dgamma,
                                                          dbeta, dalpha);
}

void prelu_activation_forward(int32_t batch, const prelu_activation *act, const float *x, const float *alpha, float *y) {
    prelu_active_kernels()->activation_forward(batch, act, x, alpha, y);
}

void prelu_activation_backward(int32_t batch, const prelu_activation *act, const float *x, const float *alpha, float *dy,
                               float *dx, float *dalpha) {
    prelu_active_kernels()->activation_backward(batch, act, x, alpha, dy, dx, dalpha);
}

void prelu_dropout_forward(int64_t length, float rate, uint64_t seed, uint64_t step, const float *x, float *mask, float *y) {
    prelu_active_kernels()->dropout_forward(length, rate, seed, step, x, mask, y);
}

void prelu_dropout_backward(int64_t length, const float *mask, const float *dy, float *dx) {
    prelu_active_kernels()->dropout_backward(length, mask, dy, dx);
}

void prelu_adam(int64_t length, float alpha_t, float beta1, float beta2, float epsilon, float *param, const float *grad,
                float *m, float *v) {
    prelu_active_kernels()->adam(length, alpha_t, beta1, beta2, epsilon, param, grad, m, v);
}

void prelu_sgd(int64_t length, float learning_rate, float momentum, int32_t nesterov, float *param, const float *grad,
               float *velocity) {
    if (momentum == 0.0f || !velocity) {
#pragma omp parallel for simd schedule(static) num_threads(prelu_thread_count())
        for (int64_t i = 0; i < length; i++) param[i] -= learning_rate * grad[i];
        return;
    }
#pragma omp parallel for simd schedule(static) num_threads(prelu_thread_count())
    for (int64_t i = 0; i < length; i++) {
        velocity[i] = -grad[i] * learning_rate + velocity[i] * momentum;
        param[i] += nesterov ? -grad[i] * learning_rate + velocity[i] * momentum : velocity[i];
    }
}

void prelu_regularizer(int64_t length, float l1, float l2, const float *param, float *grad, float *metrics, float weight) {
    /* Per-thread partial sums added in thread order (not an OpenMP reduction, whose order may vary),
     * so that a run is reproducible to the bit. */
    enum { MAX_THREADS = 256 };
    double abs_sums[MAX_THREADS] = {0}, square_sums[MAX_THREADS] = {0};
    int threads = prelu_thread_count();
    if (threads > MAX_THREADS) threads = MAX_THREADS;
#pragma omp parallel num_threads(threads)
    {
        int t = omp_get_thread_num();
        double abs_sum = 0.0, square_sum = 0.0;
#pragma omp for schedule(static)
        for (int64_t i = 0; i < length; i++) {
            float w = param[i];
            abs_sum += fabsf(w);
            square_sum += (double)w * w;
            float sign = (float)((w > 0.0f) - (w < 0.0f));
            grad[i] += l1 * sign + 2.0f * l2 * w;
        }
        abs_sums[t] = abs_sum;
        square_sums[t] = square_sum;
    }
    double abs_total = 0.0, square_total = 0.0;
    for (int t = 0; t < threads; t++) {
        abs_total += abs_sums[t];
        square_total += square_sums[t];
    }
    metrics[0] += weight * (float)(l1 * abs_total + l2 * square_total);
}
