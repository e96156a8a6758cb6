/* activation.h: ReLU, LeakyReLU, PReLU and the pointwise activations (sigmoid, tanh, ELU, SELU, GELU, softplus,
 * swish), as rows fused into the layers' epilogues and as standalone layers. */

#define SELU_ALPHA 1.6732632423543772848170429916717f
#define SELU_SCALE 1.0507009873554804934193349852946f

/* f(z) of a pointwise kind, as Keras defines it; p is ELU's alpha. */
static inline float pointwise(int kind, float p, float z) {
    switch (kind) {
    case PRELU_SIGMOID: return 1.0f / (1.0f + expf(-z));
    case PRELU_TANH: return tanhf(z);
    case PRELU_ELU: return z > 0.0f ? z : p * expm1f(z);
    case PRELU_SELU: return SELU_SCALE * (z > 0.0f ? z : SELU_ALPHA * expm1f(z));
    case PRELU_GELU: return 0.5f * z * (1.0f + erff(z * 0.70710678118654752f));
    case PRELU_SOFTPLUS: return fmaxf(z, 0.0f) + log1pf(expf(-fabsf(z)));
    case PRELU_SWISH: return z / (1.0f + expf(-z));
    default: return z;
    }
}

/* f'(z). */
static inline float pointwise_derivative(int kind, float p, float z) {
    switch (kind) {
    case PRELU_SIGMOID: {
        float s = 1.0f / (1.0f + expf(-z));
        return s * (1.0f - s);
    }
    case PRELU_TANH: {
        float t = tanhf(z);
        return 1.0f - t * t;
    }
    case PRELU_ELU: return z > 0.0f ? 1.0f : p * expf(z);
    case PRELU_SELU: return SELU_SCALE * (z > 0.0f ? 1.0f : SELU_ALPHA * expf(z));
    case PRELU_GELU: /* Phi(z) + z phi(z) */
        return 0.5f * (1.0f + erff(z * 0.70710678118654752f)) + z * expf(-0.5f * z * z) * 0.39894228040143268f;
    case PRELU_SOFTPLUS: return 1.0f / (1.0f + expf(-z));
    case PRELU_SWISH: {
        float s = 1.0f / (1.0f + expf(-z));
        return s * (1.0f + z * (1.0f - s));
    }
    default: return 1.0f;
    }
}

/* PReLU over a row whose alphas are contiguous, as compares and blends: no branch (a branch on the
 * sign of z mispredicts half the time on real activations). GCC does not if-convert these loops, so
 * the AVX2 and AVX-512 builds spell them out (the AVX-512 build 16 lanes at a time, then 8). */
static inline void prelu_row(const float *restrict z, const float *restrict a, float *restrict y, int count) {
    int i = 0;
#ifdef PRELU_AVX512
    for (; i + 16 <= count; i += 16) {
        __m512 zi = _mm512_loadu_ps(z + i);
        __mmask16 positive = _mm512_cmp_ps_mask(zi, _mm512_setzero_ps(), _CMP_GT_OQ);
        _mm512_storeu_ps(y + i, _mm512_mask_mov_ps(_mm512_mul_ps(_mm512_loadu_ps(a + i), zi), positive, zi));
    }
#endif
#ifdef PRELU_AVX2
    const __m256 zero = _mm256_setzero_ps();
    for (; i + 8 <= count; i += 8) {
        __m256 zi = _mm256_loadu_ps(z + i);
        __m256 negative = _mm256_mul_ps(_mm256_loadu_ps(a + i), zi);
        _mm256_storeu_ps(y + i, _mm256_blendv_ps(negative, zi, _mm256_cmp_ps(zi, zero, _CMP_GT_OQ)));
    }
#endif
    for (; i < count; i++) y[i] = z[i] > 0.0f ? z[i] : a[i] * z[i];
}

/* Its backward: da += (z > 0 ? 0 : z * g); g = z > 0 ? g : a * g. */
static inline void prelu_row_backward(const float *restrict z, const float *restrict a, float *restrict g,
                                      float *restrict da, int count) {
    int i = 0;
#ifdef PRELU_AVX512
    for (; i + 16 <= count; i += 16) {
        __m512 zi = _mm512_loadu_ps(z + i), gi = _mm512_loadu_ps(g + i);
        __mmask16 negative = _mm512_cmp_ps_mask(zi, _mm512_setzero_ps(), _CMP_NGT_UQ); /* not z > 0, NaN included */
        __m512 dai = _mm512_loadu_ps(da + i);
        _mm512_storeu_ps(da + i, _mm512_mask_add_ps(dai, negative, dai, _mm512_mul_ps(zi, gi)));
        _mm512_storeu_ps(g + i, _mm512_mask_mul_ps(gi, negative, _mm512_loadu_ps(a + i), gi));
    }
#endif
#ifdef PRELU_AVX2
    const __m256 zero = _mm256_setzero_ps();
    for (; i + 8 <= count; i += 8) {
        __m256 zi = _mm256_loadu_ps(z + i), gi = _mm256_loadu_ps(g + i);
        __m256 positive = _mm256_cmp_ps(zi, zero, _CMP_GT_OQ);
        _mm256_storeu_ps(da + i, _mm256_add_ps(_mm256_loadu_ps(da + i), _mm256_blendv_ps(_mm256_mul_ps(zi, gi), zero, positive)));
        _mm256_storeu_ps(g + i, _mm256_blendv_ps(_mm256_mul_ps(_mm256_loadu_ps(a + i), gi), gi, positive));
    }
#endif
    for (; i < count; i++) {
        float zi = z[i], gi = g[i];
        if (zi > 0.0f) continue;
        da[i] += zi * gi;
        g[i] = a[i] * gi;
    }
}

/* prelu_row_backward on the lanes of a row that `won` marks with `place` (a max pooling's winners at one place of
 * their windows): d = z > 0 ? g : a * g there, and da += z * g where z <= 0; the other lanes are left as they are. */
static inline void prelu_row_backward_at(const float *restrict z, const float *restrict a, const float *restrict won, float place,
                                         const float *restrict g, float *restrict d, float *restrict da, int count) {
#pragma omp simd
    for (int i = 0; i < count; i++) {
        int here = won[i] == place, positive = z[i] > 0.0f;
        d[i] = here ? (positive ? g[i] : a[i] * g[i]) : d[i];
        da[i] += here && !positive ? z[i] * g[i] : 0.0f;
    }
}

/* LeakyReLU and ReLU (slope 0) rows, the same way. */
static inline void leaky_row(const float *restrict z, float slope, float *restrict y, int count) {
    int i = 0;
#ifdef PRELU_AVX512
    for (; i + 16 <= count; i += 16) {
        __m512 zi = _mm512_loadu_ps(z + i);
        __mmask16 positive = _mm512_cmp_ps_mask(zi, _mm512_setzero_ps(), _CMP_GT_OQ);
        _mm512_storeu_ps(y + i, _mm512_mask_mov_ps(_mm512_mul_ps(_mm512_set1_ps(slope), zi), positive, zi));
    }
#endif
#ifdef PRELU_AVX2
    const __m256 zero = _mm256_setzero_ps(), s = _mm256_set1_ps(slope);
    for (; i + 8 <= count; i += 8) {
        __m256 zi = _mm256_loadu_ps(z + i);
        _mm256_storeu_ps(y + i, _mm256_blendv_ps(_mm256_mul_ps(s, zi), zi, _mm256_cmp_ps(zi, zero, _CMP_GT_OQ)));
    }
#endif
    for (; i < count; i++) y[i] = z[i] > 0.0f ? z[i] : slope * z[i];
}

static inline void leaky_row_backward(const float *restrict z, float slope, float *restrict g, int count) {
    int i = 0;
#ifdef PRELU_AVX512
    for (; i + 16 <= count; i += 16) {
        __m512 zi = _mm512_loadu_ps(z + i), gi = _mm512_loadu_ps(g + i);
        __mmask16 positive = _mm512_cmp_ps_mask(zi, _mm512_setzero_ps(), _CMP_GT_OQ);
        _mm512_storeu_ps(g + i, _mm512_mask_mov_ps(_mm512_mul_ps(_mm512_set1_ps(slope), gi), positive, gi));
    }
#endif
#ifdef PRELU_AVX2
    const __m256 zero = _mm256_setzero_ps(), s = _mm256_set1_ps(slope);
    for (; i + 8 <= count; i += 8) {
        __m256 zi = _mm256_loadu_ps(z + i), gi = _mm256_loadu_ps(g + i);
        _mm256_storeu_ps(g + i, _mm256_blendv_ps(_mm256_mul_ps(s, gi), gi, _mm256_cmp_ps(zi, zero, _CMP_GT_OQ)));
    }
#endif
    for (; i < count; i++) g[i] = z[i] > 0.0f ? g[i] : slope * g[i];
}

static inline int alpha_index(const prelu_activation *act, int feature) {
    switch (act->sharing) {
    case PRELU_ALPHA_PER_ELEMENT: return feature;
    case PRELU_ALPHA_CHANNEL_WISE: return feature % act->channels;
    case PRELU_ALPHA_SHARED: return 0;
    default: return act->alpha_map[feature];
    }
}

/* y = act(z) over one sample's features [first, first + count). */
static inline void activate(const prelu_activation *act, const float *alpha, int first, int count, const float *z,
                            float *y) {
    switch (act->kind) {
    case PRELU_RELU:
        leaky_row(z, 0.0f, y, count);
        break;
    case PRELU_LEAKY_RELU:
        leaky_row(z, act->parameter, y, count);
        break;
    case PRELU_PRELU:
        if (act->sharing == PRELU_ALPHA_PER_ELEMENT) {
            prelu_row(z, alpha + first, y, count);
        } else if (act->sharing == PRELU_ALPHA_CHANNEL_WISE && first % act->channels == 0 && count % act->channels == 0) {
            for (int i = 0; i < count; i += act->channels) prelu_row(z + i, alpha, y + i, act->channels);
        } else {
            for (int i = 0; i < count; i++) y[i] = z[i] > 0.0f ? z[i] : alpha[alpha_index(act, first + i)] * z[i];
        }
        break;
    case PRELU_LINEAR:
        if (y != z) memcpy(y, z, (size_t)count * sizeof(float));
        break;
    default:
        for (int i = 0; i < count; i++) y[i] = pointwise(act->kind, act->parameter, z[i]);
        break;
    }
}

/* g: dL/dy in, dL/dz out, over one sample's features [first, first + count); dalpha accumulates. */
static inline void activate_backward(const prelu_activation *act, const float *alpha, int first, int count,
                                     const float *z, float *g, float *dalpha) {
    switch (act->kind) {
    case PRELU_RELU:
        leaky_row_backward(z, 0.0f, g, count);
        break;
    case PRELU_LEAKY_RELU:
        leaky_row_backward(z, act->parameter, g, count);
        break;
    case PRELU_PRELU:
        if (act->sharing == PRELU_ALPHA_PER_ELEMENT) {
            prelu_row_backward(z, alpha + first, g, dalpha + first, count);
        } else if (act->sharing == PRELU_ALPHA_CHANNEL_WISE && first % act->channels == 0 && count % act->channels == 0) {
            for (int i = 0; i < count; i += act->channels) prelu_row_backward(z + i, alpha, g + i, dalpha, act->channels);
        } else {
            for (int i = 0; i < count; i++) {
                if (z[i] <= 0.0f) {
                    int ai = alpha_index(act, first + i);
                    dalpha[ai] += z[i] * g[i];
                    g[i] *= alpha[ai];
                }
            }
        }
        break;
    case PRELU_LINEAR:
        break;
    default:
        for (int i = 0; i < count; i++) g[i] *= pointwise_derivative(act->kind, act->parameter, z[i]);
        break;
    }
}

/* A fused layer's epilogue on one row of its output (features [first, first + count) of a sample): z += bias,
 * then y = act(z). A linear layer writes its output as z, so there is nothing more to do. */
static inline void bias_activate(const prelu_activation *act, const float *alpha, const float *bias, int first, int count,
                                 float *z, float *y) {
    if (bias)
        for (int c = 0; c < count; c++) z[c] += bias[c];
    if (act->kind != PRELU_LINEAR) activate(act, alpha, first, count, z, y);
}

/* Its backward on the same row: g (dL/dy) becomes dL/dz in place, and is added to the bias and alpha sums
 * (z is NULL for a linear layer, which keeps none). */
static inline void bias_activate_backward(const prelu_activation *act, const float *alpha, int first, int count,
                                          const float *z, float *g, float *dbias, float *dalpha) {
    if (act->kind != PRELU_LINEAR) activate_backward(act, alpha, first, count, z, g, dalpha);
    for (int c = 0; c < count; c++) dbias[c] += g[c];
}

/* ---- Standalone activation layers ---- */

static void activation_forward(int32_t batch, const prelu_activation *act, const float *x, const float *alpha, float *y) {
    long fl = act->feature_length;
#pragma omp parallel for schedule(static) num_threads(prelu_thread_count())
    for (int n = 0; n < batch; n++) activate(act, alpha, 0, (int)fl, x + n * fl, y + n * fl);
}

static void activation_backward(int32_t batch, const prelu_activation *act, const float *x, const float *alpha,
                                float *dy, float *dx, float *dalpha) {
    long fl = act->feature_length;
    int alpha_length = act->kind == PRELU_PRELU ? act->alpha_length : 0;
    float *g = dx ? dx : dy;
    int threads = prelu_thread_count();
    long per_thread = alpha_length + 1;
    float *partials = thread_partials(threads, per_thread);
#pragma omp parallel num_threads(threads)
    {
        float *da = partials + omp_get_thread_num() * per_thread;
#pragma omp for schedule(static)
        for (int n = 0; n < batch; n++) {
            /* dy copied a sample at a time, so that the sample is still in cache when it becomes dx */
            if (g != dy) memcpy(g + n * fl, dy + n * fl, (size_t)fl * sizeof(float));
            activate_backward(act, alpha, 0, (int)fl, x + n * fl, g + n * fl, da);
        }
    }
    add_thread_partials(dalpha, partials, threads, per_thread, 0, alpha_length);
}
