/* prelu.h: the C ABI of libprelu, the native kernel library.
 *
 * Every function is plain C with fixed-width types so that C# binds it with [LibraryImport]
 * (source-generated marshalling, no reflection). Tensors are float32, row-major, NHWC for images.
 * Functions that can fail return a prelu_status; the others cannot fail.
 */
#ifndef PRELU_H
#define PRELU_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(PRELU_BUILDING_LIBRARY)
#define PRELU_API __attribute__((visibility("default")))
#else
#define PRELU_API
#endif

/* Bumped whenever a signature in this header changes; the C# side refuses a library built
 * against another ABI, rather than calling it with the wrong arguments. */
#define PRELU_ABI_VERSION 1

typedef enum prelu_status {
    PRELU_OK = 0,
    PRELU_INVALID_ARGUMENT = 1,
} prelu_status;

/* Instruction sets the kernels may use, as detected on this CPU at run time. */
typedef enum prelu_cpu_feature {
    PRELU_CPU_AVX2 = 1 << 0,
    PRELU_CPU_FMA = 1 << 1,
} prelu_cpu_feature;

/* The ABI version this library was built with (PRELU_ABI_VERSION). */
PRELU_API int32_t prelu_abi_version(void);

/* The library version, "major.minor.patch". The string is static. */
PRELU_API const char *prelu_version(void);

/* Bit set of prelu_cpu_feature found on this CPU. */
PRELU_API int32_t prelu_cpu_features(void);

/* 1 when the AVX2/FMA kernels are in use, 0 when the portable C kernels are. */
PRELU_API int32_t prelu_uses_avx2(void);

/* Forces the portable C kernels (1) or lets the CPU check decide (0); for tests and comparisons. */
PRELU_API void prelu_force_portable(int32_t force);

/* Threads the kernels use; 0 or less means one per core. */
PRELU_API void prelu_set_threads(int32_t threads);
PRELU_API int32_t prelu_get_threads(void);

#ifdef __cplusplus
}
#endif

#endif /* PRELU_H */
