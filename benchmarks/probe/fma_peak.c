/* fma_peak: this machine's peak float32 FMA rate with AVX2, on 1 thread and on every core.
 * Each thread runs chains of independent fused multiply-adds on 12 ymm registers (enough to cover
 * the FMA latency on two FMA pipes), so the figure is the arithmetic ceiling the kernels are measured
 * against in docs/performance.md. Built by the top-level CMakeLists.txt as prelu_fma_peak. */
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#define ITERATIONS 200000000L

__attribute__((target("avx2,fma"))) static float run(long iterations) {
    __m256 a0 = _mm256_set1_ps(1.0f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
    __m256 a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
    const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    for (long i = 0; i < iterations; i++) {
        a0 = _mm256_fmadd_ps(a0, m, c); a1 = _mm256_fmadd_ps(a1, m, c); a2 = _mm256_fmadd_ps(a2, m, c);
        a3 = _mm256_fmadd_ps(a3, m, c); a4 = _mm256_fmadd_ps(a4, m, c); a5 = _mm256_fmadd_ps(a5, m, c);
        a6 = _mm256_fmadd_ps(a6, m, c); a7 = _mm256_fmadd_ps(a7, m, c); a8 = _mm256_fmadd_ps(a8, m, c);
        a9 = _mm256_fmadd_ps(a9, m, c); a10 = _mm256_fmadd_ps(a10, m, c); a11 = _mm256_fmadd_ps(a11, m, c);
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                             _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
    s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
    float out[8];
    _mm256_storeu_ps(out, s);
    return out[0];
}

static double measure(int threads, long iterations) {
    double best = 0;
    for (int attempt = 0; attempt < 3; attempt++) {
        float sink = 0;
        double start = omp_get_wtime();
#pragma omp parallel num_threads(threads) reduction(+ : sink)
        sink += run(iterations);
        double seconds = omp_get_wtime() - start;
        double gflops = (double)threads * iterations * 12 * 8 * 2 / seconds / 1e9;
        if (gflops > best) best = gflops;
        if (sink == 12345.0f) printf(" "); /* keep the work */
    }
    return best;
}

int main(int argc, char **argv) {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
        printf("this CPU has no AVX2/FMA; the probe measures the AVX2/FMA peak only\n");
        return 1;
    }
    long iterations = argc > 1 ? atol(argv[1]) : ITERATIONS;
    int cores = omp_get_num_procs();
    printf("peak float32 FMA, 1 thread: %.0f GFLOP/s\n", measure(1, iterations));
    printf("peak float32 FMA, %d threads: %.0f GFLOP/s\n", cores, measure(cores, iterations));
    return 0;
}
