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

#if defined(PRELU_BUILDING_LIBRARY) && defined(_WIN32)
#define PRELU_API __declspec(dllexport)
#elif defined(PRELU_BUILDING_LIBRARY)
#define PRELU_API __attribute__((visibility("default")))
#else
#define PRELU_API
#endif

/* Bumped whenever a signature in this header changes, or what an argument holds (12: the fused batch normalisation's z
 * holds its terms, not the normalised tensor); the C# side refuses a library built against another ABI, rather than
 * calling it with the wrong arguments. */
#define PRELU_ABI_VERSION 12

typedef enum prelu_status {
    PRELU_OK = 0,
    PRELU_INVALID_ARGUMENT = 1,
} prelu_status;

/* Instruction sets the kernels may use, as detected on this CPU at run time. */
typedef enum prelu_cpu_feature {
    PRELU_CPU_AVX2 = 1 << 0,
    PRELU_CPU_FMA = 1 << 1,
    PRELU_CPU_AVX512F = 1 << 2,
    PRELU_CPU_ASIMD = 1 << 3, /* ARM's Advanced SIMD (NEON), on AArch64 */
} prelu_cpu_feature;

/* The builds of the hot kernels, each compiled for one instruction set. */
typedef enum prelu_kernel_set {
    PRELU_KERNELS_BEST = -1,    /* for prelu_select_kernels: the best this CPU runs */
    PRELU_KERNELS_PORTABLE = 0, /* plain C, any CPU */
    PRELU_KERNELS_AVX2 = 1,     /* AVX2 and FMA */
    PRELU_KERNELS_AVX512 = 2,   /* AVX-512F, AVX2 and FMA */
    PRELU_KERNELS_NEON = 3,     /* AArch64's Advanced SIMD */
} prelu_kernel_set;

/* The ABI version this library was built with (PRELU_ABI_VERSION). */
PRELU_API int32_t prelu_abi_version(void);

/* The library version, "major.minor.patch". The string is static. */
PRELU_API const char *prelu_version(void);

/* Bit set of prelu_cpu_feature found on this CPU. */
PRELU_API int32_t prelu_cpu_features(void);

/* The prelu_kernel_set in use: the best this CPU runs, unless prelu_select_kernels chose another. */
PRELU_API int32_t prelu_kernels_in_use(void);

/* 1 when this CPU can run the given prelu_kernel_set, else 0. */
PRELU_API int32_t prelu_kernels_supported(int32_t set);

/* Uses the given prelu_kernel_set from now on (PRELU_KERNELS_BEST: the CPU decides); for tests and
 * comparisons. PRELU_INVALID_ARGUMENT, and no change, when this CPU cannot run that set. */
PRELU_API int32_t prelu_select_kernels(int32_t set);

/* Threads the kernels use; 0 or less means one per core. */
PRELU_API void prelu_set_threads(int32_t threads);

/* Floating-point operations the kernels have executed since the library was loaded, every thread's: the multiply-adds
 * of their products (2 per multiply-add), Winograd's transforms and the gradients' sums, as each path does them (a
 * convolution by Winograd's transforms counts its 16 products per tile, a pooled convolution's backward only the
 * winners' windows). Element-wise work (activations, pooling, normalisation, dropout, losses, optimizers) is not
 * counted. The difference between two reads is what the calls between them executed. */
PRELU_API int64_t prelu_flops_executed(void);
PRELU_API int32_t prelu_get_threads(void);

/* ---- Kernels ------------------------------------------------------------------------------------
 * Conventions (as the C# kernel contract): float32, row-major, NHWC; Keras's weight layouts (Conv2D
 * kernel (KH, KW, Cin, Cout), Dense kernel (In, Out)); backward functions overwrite their gradients;
 * a fused layer keeps z (the pre-activation) and its backward turns dy into dz in place; a NULL
 * gradient pointer means "not needed". Shapes are checked by the caller. */

/* A 2-D convolution (or, with filters/kernel unused, a pooling window) over NHWC. */
typedef struct prelu_conv2d_shape {
    int32_t batch, height, width, in_channels, filters;
    int32_t kernel_h, kernel_w, stride_y, stride_x, pad_top, pad_left, out_h, out_w;
} prelu_conv2d_shape;

typedef enum prelu_activation_kind {
    PRELU_LINEAR = 0,
    PRELU_RELU = 1,
    PRELU_LEAKY_RELU = 2,
    PRELU_PRELU = 3,
    PRELU_SIGMOID = 4,
    PRELU_TANH = 5,
    PRELU_ELU = 6, /* parameter: alpha */
    PRELU_SELU = 7,
    PRELU_GELU = 8, /* the exact form, with erf */
    PRELU_SOFTPLUS = 9,
    PRELU_SWISH = 10,
} prelu_activation_kind;

/* How PReLU's alphas map onto one sample's features (length feature_length). */
typedef enum prelu_alpha_sharing {
    PRELU_ALPHA_PER_ELEMENT = 0, /* alpha[i] */
    PRELU_ALPHA_CHANNEL_WISE = 1, /* alpha[i % channels] */
    PRELU_ALPHA_SHARED = 2, /* alpha[0] */
    PRELU_ALPHA_MAPPED = 3, /* alpha[alpha_map[i]] */
} prelu_alpha_sharing;

typedef struct prelu_activation {
    int32_t kind; /* prelu_activation_kind */
    float parameter; /* LeakyReLU's negative slope, ELU's alpha */
    int32_t sharing; /* prelu_alpha_sharing, PReLU only */
    int32_t feature_length; /* elements per sample */
    int32_t channels; /* for PRELU_ALPHA_CHANNEL_WISE */
    int32_t alpha_length;
    const int32_t *alpha_map; /* for PRELU_ALPHA_MAPPED, feature_length entries */
} prelu_activation;

/* input (N,H,W,Cin), kernel (KH,KW,Cin,F), bias (F) or NULL, alpha or NULL -> z (or NULL when linear), y (N,OH,OW,F) */
PRELU_API void prelu_conv2d_forward(const prelu_conv2d_shape *s, const prelu_activation *act, const float *input,
                                    const float *kernel, const float *bias, const float *alpha, float *z, float *y);

/* dy (N,OH,OW,F) becomes dz; -> dx (N,H,W,Cin) or NULL, dkernel or NULL, dbias or NULL, dalpha or NULL */
PRELU_API void prelu_conv2d_backward(const prelu_conv2d_shape *s, const prelu_activation *act, const float *input,
                                     const float *kernel, const float *alpha, const float *z, float *dy, float *dx,
                                     float *dkernel, float *dbias, float *dalpha);

/* A depthwise convolution (Keras's DepthwiseConv2D): s->filters = in_channels x M, output channel c M + j reading input
 * channel c only. input (N,H,W,C), kernel (KH,KW,C,M), bias (C M) or NULL -> z (or NULL when linear), y (N,OH,OW,C M);
 * backward as prelu_conv2d_backward. */
PRELU_API void prelu_depthwise_conv2d_forward(const prelu_conv2d_shape *s, const prelu_activation *act, const float *input,
                                              const float *kernel, const float *bias, const float *alpha, float *z, float *y);
PRELU_API void prelu_depthwise_conv2d_backward(const prelu_conv2d_shape *s, const prelu_activation *act, const float *input,
                                               const float *kernel, const float *alpha, const float *z, float *dy, float *dx,
                                               float *dkernel, float *dbias, float *dalpha);

/* A dropout applied to a fused call's result in the same call, as prelu_dropout_forward(length of the result, rate,
 * seed, step, result, mask, output) would: the same mask and output, to the bit. */
typedef struct prelu_dropout {
    float rate;
    uint64_t seed, step;
    float *mask, *output;
} prelu_dropout;

/* The convolution (as prelu_conv2d_forward) and the max pooling of its output (pool: the pooling's shape over it) into
 * pooled (N,PH,PW,F), the call's only result; with a dropout (or NULL), its mask and output are the results and
 * pooled is workspace. z and y are the call's workspace, kept for prelu_conv2d_pool_backward: where the pooling's
 * windows do not overlap and have no padding and the convolution has none, only the outputs some window covers are
 * computed, and z (y when linear) keeps, for each pooled value, z at its window's winner and then the winner's place;
 * otherwise z and y are the convolution's, pooled group by group while in cache. */
PRELU_API void prelu_conv2d_pool_forward(const prelu_conv2d_shape *s, const prelu_activation *act, const prelu_conv2d_shape *pool,
                                         const float *input, const float *kernel, const float *bias, const float *alpha,
                                         float *z, float *y, float *pooled, const prelu_dropout *dropout);

/* Its backward from the z and y that prelu_conv2d_pool_forward left: dpooled (N,PH,PW,F) -> dx (N,H,W,Cin) or NULL,
 * dkernel, dbias or NULL, dalpha or NULL; dy (N,OH,OW,F) is workspace. With a dropout mask (the forward's dropout's,
 * or NULL), dpooled is the gradient of the dropout's output, taken back through the mask first (as
 * prelu_dropout_backward), and is workspace too. With the winners kept, dL/dz has one nonzero per pooled value, and
 * each adds its window's share to the gradients (a quarter of the dense products' work under 2x2 pooling);
 * otherwise dpooled goes back through the pooling into dy, which becomes dz, and on as prelu_conv2d_backward. dx may
 * share memory with dpooled: all of dpooled is read before dx is written. */
PRELU_API void prelu_conv2d_pool_backward(const prelu_conv2d_shape *s, const prelu_activation *act, const prelu_conv2d_shape *pool,
                                          const float *input, const float *kernel, const float *alpha, const float *z,
                                          const float *y, float *dpooled, const float *dropout_mask, float *dy, float *dx,
                                          float *dkernel, float *dbias, float *dalpha);

/* input (B,I), kernel (I,U), bias (U) or NULL -> z, y (B,U) */
PRELU_API void prelu_dense_forward(int32_t batch, int32_t inputs, int32_t units, const prelu_activation *act,
                                   const float *input, const float *kernel, const float *bias, const float *alpha,
                                   float *z, float *y);

PRELU_API void prelu_dense_backward(int32_t batch, int32_t inputs, int32_t units, const prelu_activation *act,
                                    const float *input, const float *kernel, const float *alpha, const float *z,
                                    float *dy, float *dx, float *dkernel, float *dbias, float *dalpha);

/* Max pooling; s->kernel_h/w are the pool size. input (N,H,W,C) -> y (N,OH,OW,C); backward finds the winners again. */
PRELU_API void prelu_maxpool2d_forward(const prelu_conv2d_shape *s, const float *input, float *y);
PRELU_API void prelu_maxpool2d_backward(const prelu_conv2d_shape *s, const float *input, const float *dy, float *dx);

/* Average pooling; s->kernel_h/w are the pool size. Each window's mean over its positions inside the input
 * (padding not counted). Backward: dy (N,OH,OW,C) -> dx (N,H,W,C), overwritten. */
PRELU_API void prelu_avgpool2d_forward(const prelu_conv2d_shape *s, const float *input, float *y);
PRELU_API void prelu_avgpool2d_backward(const prelu_conv2d_shape *s, const float *dy, float *dx);

/* Batch normalisation over the last axis: x (rows, channels). Training: the batch's mean and biased variance,
 * and moving = moving * momentum + batch * (1 - momentum); inference: the moving statistics. gamma or beta NULL:
 * 1 or 0. Backward (of a training forward) computes the batch statistics again from x; dx, dgamma, dbeta may be NULL. */
PRELU_API void prelu_batchnorm_forward(int32_t rows, int32_t channels, int32_t training, float momentum, float epsilon,
                                       const float *x, const float *gamma, const float *beta, float *moving_mean,
                                       float *moving_variance, float *y);
PRELU_API void prelu_batchnorm_backward(int32_t rows, int32_t channels, float epsilon, const float *x, const float *gamma,
                                        const float *dy, float *dx, float *dgamma, float *dbeta);

/* In evaluation, the convolution (as prelu_conv2d_forward), the batch normalisation of its output by the moving statistics
 * and the activation after it, as one convolution: the normalisation folded into the kernel and the bias
 * (kernel[.., f] gamma[f] / sqrt(variance[f] + epsilon), and the bias likewise), the activation its epilogue. z, as
 * prelu_conv2d_forward's, is the normalised output (NULL when linear). bias, gamma, beta may be NULL. */
PRELU_API void prelu_conv2d_batchnorm_inference(const prelu_conv2d_shape *s, const prelu_activation *act, const float *input,
                                                const float *kernel, const float *bias, const float *gamma, const float *beta,
                                                const float *moving_mean, const float *moving_variance, float epsilon,
                                                const float *alpha, float *z, float *y);

/* Batch normalisation of a convolution's output x (batch, positions, channels) and the activation after it, one call:
 * y = act(the normalisation of x, as prelu_batchnorm_forward), act->feature_length = positions * channels. z (batch x
 * positions x channels floats) is the backward's workspace: from three rows (batch x positions >= 3) on it holds only
 * the normalisation's terms (mean, scale and offset per channel, its first 3 x channels floats), from which the
 * backward normalises x again, else the normalised tensor. A linear activation normalises into y and z may be NULL.
 * Backward (of a training forward, with its z): dy (dL/dy) becomes dL/dx in place; dgamma, dbeta, dalpha may be NULL. */
PRELU_API void prelu_batchnorm_activation_forward(int32_t batch, int32_t positions, int32_t channels, int32_t training,
                                                  float momentum, float epsilon, const float *x, const float *gamma,
                                                  const float *beta, float *moving_mean, float *moving_variance,
                                                  const prelu_activation *act, const float *alpha, float *z, float *y);
PRELU_API void prelu_batchnorm_activation_backward(int32_t batch, int32_t positions, int32_t channels, float epsilon,
                                                   const float *x, const float *gamma, const prelu_activation *act,
                                                   const float *alpha, const float *z, float *dy, float *dgamma, float *dbeta,
                                                   float *dalpha);

/* An activation on its own over batch * act->feature_length elements. dx may equal dy, or be NULL (then dy is overwritten). */
PRELU_API void prelu_activation_forward(int32_t batch, const prelu_activation *act, const float *x, const float *alpha, float *y);
PRELU_API void prelu_activation_backward(int32_t batch, const prelu_activation *act, const float *x, const float *alpha,
                                         float *dy, float *dx, float *dalpha);

/* Inverted dropout with the counter-based mask of Prelu.Reference.DropoutRandom. */
PRELU_API void prelu_dropout_forward(int64_t length, float rate, uint64_t seed, uint64_t step, const float *x, float *mask, float *y);
PRELU_API void prelu_dropout_backward(int64_t length, const float *mask, const float *dy, float *dx);

/* Merge layers over count inputs of length elements each, folded in the inputs' order (Prelu.Kernels.MergeKind);
 * Average divides the sum by count; Maximum keeps the earlier input on a tie, and backward gives the gradient to the
 * first input that holds the maximum. Backward: dx[i] overwritten, or skipped where NULL. */
enum { PRELU_MERGE_ADD = 0, PRELU_MERGE_MULTIPLY = 1, PRELU_MERGE_AVERAGE = 2, PRELU_MERGE_MAXIMUM = 3 };
PRELU_API void prelu_merge_forward(int64_t length, int32_t kind, int32_t count, const float *const *inputs, float *y);
PRELU_API void prelu_merge_backward(int64_t length, int32_t kind, int32_t count, const float *const *inputs, const float *y,
                                    const float *dy, float *const *dx);

/* Concatenate: input i (rows, widths[i]) into columns of y (rows, sum of widths); backward the reverse (dx[i] NULL: skipped). */
PRELU_API void prelu_concatenate_forward(int64_t rows, int32_t count, const int32_t *widths, const float *const *inputs, float *y);
PRELU_API void prelu_concatenate_backward(int64_t rows, int32_t count, const int32_t *widths, const float *dy, float *const *dx);

/* total += gradient: the sum of the gradients of a tensor that several layers read. */
PRELU_API void prelu_accumulate(int64_t length, const float *gradient, float *total);

/* Losses (Prelu.Kernels.LossKind): z (batch, outputs) the output layer's output (logits for the cross-entropies);
 * targets (batch, outputs), or (batch) class indices for the sparse loss; NULL: predictions only. predictions gets the
 * softmax, the sigmoid or z itself (it may be z for the regression losses); dz (NULL: none) the gradient of the batch's
 * mean loss. metrics[0] += loss sum, [1] += accuracy sum, [2] += each sample's mean |p - y|, [3] += its mean (p - y)^2.
 * A class index outside [0, outputs) gives its sample a NaN loss and a zero gradient. */
enum {
    PRELU_LOSS_CATEGORICAL_CROSSENTROPY = 0,
    PRELU_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY = 1,
    PRELU_LOSS_BINARY_CROSSENTROPY = 2,
    PRELU_LOSS_MEAN_SQUARED_ERROR = 3,
    PRELU_LOSS_MEAN_ABSOLUTE_ERROR = 4,
    PRELU_LOSS_HUBER = 5
};
PRELU_API void prelu_loss(int32_t kind, float delta, int32_t batch, int32_t outputs, const float *z, const float *targets,
                          float *predictions, float *dz, float *metrics);

/* Keras's Adam with step size alpha_t = lr sqrt(1 - beta2^t) / (1 - beta1^t) computed by the caller. */
PRELU_API void prelu_adam(int64_t length, float alpha_t, float beta1, float beta2, float epsilon, float *param,
                          const float *grad, float *m, float *v);

/* Keras's SGD; velocity may be NULL when momentum is 0. */
PRELU_API void prelu_sgd(int64_t length, float learning_rate, float momentum, int32_t nesterov, float *param,
                         const float *grad, float *velocity);

/* grad += l1 sign(w) + 2 l2 w; metrics[0] += weight * (l1 sum|w| + l2 sum w^2) */
PRELU_API void prelu_regularizer(int64_t length, float l1, float l2, const float *param, float *grad, float *metrics, float weight);

#ifdef __cplusplus
}
#endif

#endif /* PRELU_H */
