/* dropout.h: the mask and the scaled output in one pass (the backward, dy * mask, is in api.c). */

static void dropout_forward(int64_t length, float rate, uint64_t seed, uint64_t step, const float *x, float *mask, float *y) {
    /* Prelu.Reference.DropoutRandom, in 32-bit arithmetic so that the loop vectorises (vpmulld). */
    const float scale = 1.0f / (1.0f - rate);
    const uint32_t base = (uint32_t)seed * 0x9E3779B1u ^ (uint32_t)(seed >> 32) * 0x85EBCA77u ^
                          (uint32_t)step * 0xC2B2AE3Du ^ (uint32_t)(step >> 32) * 0x27D4EB2Fu;
#pragma omp parallel for simd schedule(static) num_threads(prelu_thread_count())
    for (int64_t i = 0; i < length; i++) {
        uint32_t h = base ^ (uint32_t)i * 0x165667B1u;
        h ^= h >> 16;
        h *= 0x85EBCA6Bu;
        h ^= h >> 13;
        h *= 0xC2B2AE35u;
        h ^= h >> 16;
        float u = (float)(h >> 8) * (1.0f / 16777216.0f);
        float keep = u >= rate ? scale : 0.0f;
        mask[i] = keep;
        y[i] = x[i] * keep;
    }
}
