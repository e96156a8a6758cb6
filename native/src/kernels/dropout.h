/* dropout.h: the mask and the scaled output in one pass, the backward (dy * mask); and the same mask 16 lanes at a
 * time for a fused call's epilogue (conv2d_pool.h). */

/* Prelu.Reference.DropoutRandom, in 32-bit arithmetic so that the loops vectorise (vpmulld): element i of a call is
 * kept by dropout_keep(base, i, ...), base from the seed and the step. */
static inline uint32_t dropout_base(uint64_t seed, uint64_t step) {
    return (uint32_t)seed * 0x9E3779B1u ^ (uint32_t)(seed >> 32) * 0x85EBCA77u ^ (uint32_t)step * 0xC2B2AE3Du ^
           (uint32_t)(step >> 32) * 0x27D4EB2Fu;
}

/* The factor element i is multiplied by: 1 / (1 - rate) where its uniform draw is at least rate, else 0. */
static inline float dropout_keep(uint32_t base, int64_t i, float rate, float scale) {
    uint32_t h = base ^ (uint32_t)i * 0x165667B1u;
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    h ^= h >> 16;
    float u = (float)(h >> 8) * (1.0f / 16777216.0f);
    return u >= rate ? scale : 0.0f;
}

static void dropout_forward(int64_t length, float rate, uint64_t seed, uint64_t step, const float *x, float *mask, float *y) {
    const float scale = 1.0f / (1.0f - rate);
    const uint32_t base = dropout_base(seed, step);
#pragma omp parallel for simd schedule(static) num_threads(prelu_thread_count())
    for (int64_t i = 0; i < length; i++) {
        float keep = dropout_keep(base, i, rate, scale);
        mask[i] = keep;
        y[i] = x[i] * keep;
    }
}

/* dx = dy * mask (dx may be dy). */
static void dropout_backward(int64_t length, const float *mask, const float *dy, float *dx) {
#pragma omp parallel for simd schedule(static) num_threads(prelu_thread_count())
    for (int64_t i = 0; i < length; i++) dx[i] = dy[i] * mask[i];
}

/* A dropout as a fused call's epilogue: its hash base, rate, scale, mask and output. */
typedef struct dropout_epilogue {
    uint32_t base;
    float rate, scale;
    float *mask, *output;
} dropout_epilogue;

static inline dropout_epilogue dropout_epilogue_of(const prelu_dropout *d) {
    dropout_epilogue e = {dropout_base(d->seed, d->step), d->rate, 1.0f / (1.0f - d->rate), d->mask, d->output};
    return e;
}

#if defined(PRELU_AVX512)
/* Elements [index, index + 16) of the dropped-out result (the lanes of m): their mask, and value times it. */
static inline void dropout_store16(const dropout_epilogue *d, int64_t index, __mmask16 m, __m512 value) {
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    __m512i h = _mm512_add_epi32(_mm512_set1_epi32((int32_t)(uint32_t)index), lane); /* (uint32_t)i, wrapping as it does */
    h = _mm512_xor_si512(_mm512_set1_epi32((int32_t)d->base), _mm512_mullo_epi32(h, _mm512_set1_epi32((int32_t)0x165667B1u)));
    h = _mm512_xor_si512(h, _mm512_srli_epi32(h, 16));
    h = _mm512_mullo_epi32(h, _mm512_set1_epi32((int32_t)0x85EBCA6Bu));
    h = _mm512_xor_si512(h, _mm512_srli_epi32(h, 13));
    h = _mm512_mullo_epi32(h, _mm512_set1_epi32((int32_t)0xC2B2AE35u));
    h = _mm512_xor_si512(h, _mm512_srli_epi32(h, 16));
    __m512 u = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_srli_epi32(h, 8)), _mm512_set1_ps(1.0f / 16777216.0f));
    __m512 keep = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(u, _mm512_set1_ps(d->rate), _CMP_GE_OQ), _mm512_set1_ps(d->scale));
    _mm512_mask_storeu_ps(d->mask + index, m, keep);
    _mm512_mask_storeu_ps(d->output + index, m, _mm512_mul_ps(value, keep));
}
#endif
