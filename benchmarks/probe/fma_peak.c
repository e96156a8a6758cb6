/* fma_peak: this machine's peak float32 FMA rate, per core and on every core, with 256-bit (AVX2) and,
 * where the CPU has AVX-512F, 512-bit vectors. It is the denominator of the efficiency figures in
 * docs/performance.md and docs/benchmarks.md. Built by the top-level CMakeLists.txt as prelu_fma_peak.
 *
 * Each thread runs independent chains acc = acc * m + c. Two things keep the compiler from merging them:
 * every chain starts from its own value, and those values (and m, c) come from the command line's seed at
 * run time, so nothing is a compile-time constant. A chain waits for its previous FMA (latency ~4 cycles),
 * so a core's pipes (two here) stay full only with latency x pipes = 8 or more chains in flight:
 *   - AVX2: 14 chains, which with m and c fill the 16 ymm registers an AVX2-only CPU has;
 *   - AVX-512: 28 chains of the 32 zmm registers.
 * tests/Prelu.Native.Tests/FmaProbeTests.cs disassembles this binary and checks that each measured loop
 * holds exactly CHAINS distinct FMAs, and the FLOP count below is derived from the same constants:
 *   FLOPs = threads x iterations x chains x lanes x 2.
 *
 *   prelu_fma_peak [iterations] [seed]     prints one line per instruction set and thread count
 *   prelu_fma_peak --shape                 prints "<function> <chains> <lanes>" per variant, measures nothing */
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AVX2_CHAINS 14
#define AVX2_LANES 8
#define AVX512_CHAINS 28
#define AVX512_LANES 16
#define ITERATIONS 100000000L

/* The chains live in an array that the fully unrolled loops keep in registers (the test checks that no
 * FMA in the loop reads memory). Returns a sum of the chains so that none of them is dead. */
__attribute__((noinline, target("avx2,fma"))) float fma_chains_avx2(long iterations, float start, float step) {
    __m256 acc[AVX2_CHAINS];
#pragma GCC unroll 32
    for (int j = 0; j < AVX2_CHAINS; j++) acc[j] = _mm256_set1_ps(start + step * (float)j);
    const __m256 m = _mm256_set1_ps(1.0f - step * 1e-3f), c = _mm256_set1_ps(step * 1e-4f);
    for (long i = 0; i < iterations; i++) {
#pragma GCC unroll 32
        for (int j = 0; j < AVX2_CHAINS; j++) acc[j] = _mm256_fmadd_ps(acc[j], m, c);
    }
    __m256 sum = acc[0];
    for (int j = 1; j < AVX2_CHAINS; j++) sum = _mm256_add_ps(sum, acc[j]);
    float out[AVX2_LANES];
    _mm256_storeu_ps(out, sum);
    return out[0] + out[AVX2_LANES - 1];
}

__attribute__((noinline, target("avx512f"))) float fma_chains_avx512(long iterations, float start, float step) {
    __m512 acc[AVX512_CHAINS];
#pragma GCC unroll 32
    for (int j = 0; j < AVX512_CHAINS; j++) acc[j] = _mm512_set1_ps(start + step * (float)j);
    const __m512 m = _mm512_set1_ps(1.0f - step * 1e-3f), c = _mm512_set1_ps(step * 1e-4f);
    for (long i = 0; i < iterations; i++) {
#pragma GCC unroll 32
        for (int j = 0; j < AVX512_CHAINS; j++) acc[j] = _mm512_fmadd_ps(acc[j], m, c);
    }
    __m512 sum = acc[0];
    for (int j = 1; j < AVX512_CHAINS; j++) sum = _mm512_add_ps(sum, acc[j]);
    return _mm512_reduce_add_ps(sum);
}

typedef float (*chains_fn)(long, float, float);

/* The best of five timed runs on `threads` threads, in GFLOP/s: a shared machine only ever slows a run down. */
static double measure(chains_fn run, int chains, int lanes, int threads, long iterations, float seed) {
    double best = 0;
    for (int attempt = 0; attempt < 5; attempt++) {
        float sink = 0;
        double start = omp_get_wtime();
#pragma omp parallel num_threads(threads) reduction(+ : sink)
        sink += run(iterations, seed + (float)omp_get_thread_num(), seed * 1e-3f);
        double seconds = omp_get_wtime() - start;
        double gflops = (double)threads * iterations * chains * lanes * 2 / seconds / 1e9;
        if (gflops > best) best = gflops;
        if (sink == 12345.0f) printf(" "); /* keeps the result alive */
    }
    return best;
}

static void report(const char *isa, chains_fn run, int chains, int lanes, long iterations, float seed) {
    int cores = omp_get_num_procs();
    printf("peak float32 FMA %s (%d chains of %d lanes), 1 thread: %.1f GFLOP/s\n", isa, chains, lanes,
           measure(run, chains, lanes, 1, iterations, seed));
    printf("peak float32 FMA %s (%d chains of %d lanes), %d threads: %.1f GFLOP/s\n", isa, chains, lanes, cores,
           measure(run, chains, lanes, cores, iterations, seed));
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--shape") == 0) {
        printf("fma_chains_avx2 %d %d\nfma_chains_avx512 %d %d\n", AVX2_CHAINS, AVX2_LANES, AVX512_CHAINS, AVX512_LANES);
        return 0;
    }
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
        printf("this CPU has no AVX2/FMA; the probe measures AVX2 and AVX-512 FMAs only\n");
        return 1;
    }
    long iterations = argc > 1 ? atol(argv[1]) : ITERATIONS;
    float seed = argc > 2 ? (float)atof(argv[2]) : 1.0f;
    report("avx2", fma_chains_avx2, AVX2_CHAINS, AVX2_LANES, iterations, seed);
    if (__builtin_cpu_supports("avx512f"))
        report("avx512", fma_chains_avx512, AVX512_CHAINS, AVX512_LANES, iterations, seed);
    else
        printf("peak float32 FMA avx512: this CPU has no AVX-512F\n");
    return 0;
}
