/* adam.h: one fused pass over a parameter tensor and its two moments. */

static void adam(int64_t length, float alpha_t, float beta1, float beta2, float epsilon, float *param, const float *grad,
                 float *m, float *v) {
    float one_minus_beta1 = 1.0f - beta1, one_minus_beta2 = 1.0f - beta2;
#pragma omp parallel for simd schedule(static) num_threads(prelu_thread_count())
    for (int64_t i = 0; i < length; i++) {
        float g = grad[i];
        float mi = m[i] + (g - m[i]) * one_minus_beta1;
        float vi = v[i] + (g * g - v[i]) * one_minus_beta2;
        m[i] = mi;
        v[i] = vi;
        param[i] -= mi * alpha_t / (sqrtf(vi) + epsilon);
    }
}
