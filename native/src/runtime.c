/* runtime.c: what the library says about itself and the machine: ABI version, CPU features,
 * kernel selection and thread count. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#endif

#include "internal.h"

/* The set prelu_select_kernels chose; PRELU_KERNELS_BEST until then. */
static int32_t selected_set = PRELU_KERNELS_BEST;

int32_t prelu_abi_version(void) { return PRELU_ABI_VERSION; }

const char *prelu_version(void) { return PRELU_VERSION_STRING; }

int32_t prelu_cpu_features(void) {
    int32_t features = 0;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) features |= PRELU_CPU_AVX2;
    if (__builtin_cpu_supports("fma")) features |= PRELU_CPU_FMA;
    if (__builtin_cpu_supports("avx512f")) features |= PRELU_CPU_AVX512F;
#elif defined(__aarch64__) && defined(__linux__)
    if (getauxval(AT_HWCAP) & HWCAP_ASIMD) features |= PRELU_CPU_ASIMD;
#elif defined(__aarch64__)
    features |= PRELU_CPU_ASIMD; /* part of every AArch64 CPU that runs Windows or macOS */
#endif
    return features;
}

#define PRELU_AVX2_FMA (PRELU_CPU_AVX2 | PRELU_CPU_FMA)

int32_t prelu_kernels_supported(int32_t set) {
    int32_t features = prelu_cpu_features();
    switch (set) {
    case PRELU_KERNELS_PORTABLE: return 1;
#ifdef PRELU_HAVE_X86_KERNELS
    case PRELU_KERNELS_AVX2: return (features & PRELU_AVX2_FMA) == PRELU_AVX2_FMA;
    case PRELU_KERNELS_AVX512: return (features & (PRELU_AVX2_FMA | PRELU_CPU_AVX512F)) == (PRELU_AVX2_FMA | PRELU_CPU_AVX512F);
#endif
#ifdef PRELU_HAVE_ARM_KERNELS
    case PRELU_KERNELS_NEON: return (features & PRELU_CPU_ASIMD) != 0;
#endif
    default: return 0;
    }
}

/* The best set this CPU runs, found once: prelu_active_kernels asks on every kernel call. (Two threads that
 * race on the first call store the same value.) */
static int32_t best_set(void) {
    static int32_t best = -2;
    if (best == -2)
        best = prelu_kernels_supported(PRELU_KERNELS_AVX512) ? PRELU_KERNELS_AVX512
               : prelu_kernels_supported(PRELU_KERNELS_AVX2) ? PRELU_KERNELS_AVX2
               : prelu_kernels_supported(PRELU_KERNELS_NEON) ? PRELU_KERNELS_NEON
                                                              : PRELU_KERNELS_PORTABLE;
    return best;
}

int32_t prelu_kernels_in_use(void) { return selected_set == PRELU_KERNELS_BEST ? best_set() : selected_set; }

int32_t prelu_select_kernels(int32_t set) {
    if (set != PRELU_KERNELS_BEST && !prelu_kernels_supported(set)) return PRELU_INVALID_ARGUMENT;
    selected_set = set;
    return PRELU_OK;
}

/* A process-wide setting that every parallel region names explicitly (num_threads), rather than
 * OpenMP's own per-thread default, which a caller on another thread would not see. */
static int32_t configured_threads = 0;

void prelu_set_threads(int32_t threads) { configured_threads = threads > 0 ? threads : 0; }

int32_t prelu_get_threads(void) { return prelu_thread_count(); }

int prelu_thread_count(void) {
    int threads = configured_threads > 0 ? configured_threads : omp_get_num_procs();
    return threads < 1 ? 1 : threads;
}

/* ---- Executed floating-point operations ------------------------------------------------------------ */

/* A counter per thread that ever counted (the first 63 threads; later ones share the last), each on a cache line of its
 * own, so that two threads counting at once do not contend; added up when read. */
#define PRELU_FLOP_SLOTS 64
typedef struct flop_slot {
    _Alignas(64) int64_t flops;
} flop_slot;
static flop_slot flop_slots[PRELU_FLOP_SLOTS];
static int32_t flop_slots_taken;
static __thread int32_t my_flop_slot = -1;

void prelu_count_flops(int64_t flops) {
    if (my_flop_slot < 0) {
        int32_t slot = __atomic_fetch_add(&flop_slots_taken, 1, __ATOMIC_RELAXED);
        my_flop_slot = slot < PRELU_FLOP_SLOTS - 1 ? slot : PRELU_FLOP_SLOTS - 1;
    }
    __atomic_fetch_add(&flop_slots[my_flop_slot].flops, flops, __ATOMIC_RELAXED);
}

int64_t prelu_flops_executed(void) {
    int64_t total = 0;
    for (int i = 0; i < PRELU_FLOP_SLOTS; i++) total += __atomic_load_n(&flop_slots[i].flops, __ATOMIC_RELAXED);
    return total;
}

/* ---- Scratch memory ------------------------------------------------------------------------------- */

/* 64-byte-aligned memory: C11's aligned_alloc, which the Windows C runtime lacks (it has _aligned_malloc, whose blocks
 * _aligned_free must release). */
static void *allocate_aligned(size_t bytes) {
#if defined(_WIN32)
    return _aligned_malloc(bytes, 64);
#else
    return aligned_alloc(64, bytes);
#endif
}

static void free_aligned(void *data) {
#if defined(_WIN32)
    _aligned_free(data);
#else
    free(data);
#endif
}

typedef struct scratch_buffer {
    float *data;
    size_t floats;
} scratch_buffer;

/* One set per thread; a thread's buffers live as long as the thread (kernels run on long-lived pool threads). */
static __thread scratch_buffer scratch[PRELU_SCRATCH_SLOTS];

float *prelu_scratch(int slot, size_t floats) {
    scratch_buffer *b = &scratch[slot];
    if (b->floats < floats) {
        size_t bytes = (floats * sizeof(float) + 63) / 64 * 64;
        free_aligned(b->data);
        b->data = allocate_aligned(bytes);
        if (!b->data) abort(); /* out of memory: nothing sensible to return to a kernel */
        b->floats = floats;
    }
    return b->data;
}

/* ---- Kernels in their forward form ------------------------------------------------------------------ */

#define PRELU_KERNEL_FORMS 16

typedef struct kernel_form {
    const float *kernel; /* the kernel the form was made from, and its values then */
    float *values;
    size_t kernel_floats;
    int64_t key; /* 64 bits everywhere: a Windows long has 32 */
    float *form;
    size_t form_floats;
    unsigned long used;
    int made;
} kernel_form;

/* Per thread, as the scratch memory: two callers predicting at once keep forms of their own. */
static __thread kernel_form forms[PRELU_KERNEL_FORMS];
static __thread unsigned long form_clock;

static void *aligned_floats(void *old, size_t floats) {
    free_aligned(old);
    void *data = allocate_aligned((floats * sizeof(float) + 63) / 64 * 64);
    if (!data) abort(); /* out of memory: nothing sensible to return to a kernel */
    return data;
}

float *prelu_kernel_form(const float *kernel, size_t kernel_floats, int64_t key, size_t form_floats, int *current) {
    kernel_form *hit = NULL, *oldest = &forms[0];
    for (int i = 0; i < PRELU_KERNEL_FORMS && !hit; i++) {
        kernel_form *f = &forms[i];
        if (f->kernel == kernel && f->key == key && f->kernel_floats == kernel_floats && f->form_floats == form_floats)
            hit = f;
        else if (f->used < oldest->used)
            oldest = f;
    }
    if (!hit) {
        hit = oldest;
        if (hit->kernel_floats < kernel_floats || !hit->values) hit->values = aligned_floats(hit->values, kernel_floats);
        if (hit->form_floats < form_floats || !hit->form) hit->form = aligned_floats(hit->form, form_floats);
        hit->kernel = kernel;
        hit->kernel_floats = kernel_floats;
        hit->key = key;
        hit->form_floats = form_floats;
        hit->made = 0;
    }
    hit->used = ++form_clock;
    *current = hit->made && memcmp(hit->values, kernel, kernel_floats * sizeof(float)) == 0;
    if (!*current) {
        memcpy(hit->values, kernel, kernel_floats * sizeof(float));
        hit->made = 1; /* the caller makes it before it returns */
    }
    return hit->form;
}

const prelu_kernels *prelu_active_kernels(void) {
    switch (prelu_kernels_in_use()) {
#ifdef PRELU_HAVE_X86_KERNELS
    case PRELU_KERNELS_AVX512: return &prelu_kernels_avx512;
    case PRELU_KERNELS_AVX2: return &prelu_kernels_avx2;
#endif
#ifdef PRELU_HAVE_ARM_KERNELS
    case PRELU_KERNELS_NEON: return &prelu_kernels_neon;
#endif
    default: return &prelu_kernels_portable;
    }
}
