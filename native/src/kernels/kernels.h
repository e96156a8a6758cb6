/* kernels.h: the hot kernels, written once and compiled once per instruction set. Each of
 *   kernels_portable.c   plain C for any CPU (the fallback)
 *   kernels_avx2.c       -mavx2 -mfma; defines PRELU_AVX2
 *   kernels_avx512.c     -mavx512f as well; defines PRELU_AVX2 and PRELU_AVX512
 *   kernels_neon.c       AArch64 only; defines PRELU_NEON (the GEMM micro-kernel; the rest is the portable C)
 * names its table (PRELU_KERNEL_TABLE) and includes this file, and runtime.c picks a table at run time
 * after checking the CPU. Every function in these headers is static, so each build has its own copy
 * under the same plain names; only the table leaves the translation unit. A layer keeps its forward and
 * backward side by side in its own header; everything follows the C# reference (src/Prelu.Runtime/Reference),
 * which the tests hold each build to. */
#include "common.h"
#include "vector.h" /* the vectors of the AVX-512 and AVX2 builds' shared kernels */

#include "gemm.h"
#include "winograd.h" /* after gemm.h, whose products it runs */
#include "winograd_gradient.h"
#include "winograd4.h" /* after both, whose chunk and tiles it shares */
#include "activation.h"
#include "pooling.h" /* before conv2d.h, which pools what it computes when asked */
#include "dropout.h" /* before conv2d_pool.h, which can drop out what it pools */
#include "first_layer_map.h" /* before conv2d.h, which takes it for a first layer that is not pooled */
#include "conv2d.h"
#include "depthwise.h"
#include "winners.h"         /* the pooled convolution's paths, then its entry points (conv2d_pool.h) */
#include "first_layer.h"
#include "winners_forward.h"
#include "patches.h"
#include "winners_backward.h"
#include "conv2d_pool.h"
#include "dense.h"
#include "batchnorm.h"
#include "adam.h"

const prelu_kernels PRELU_KERNEL_TABLE = {
    .conv2d_pool_forward = conv2d_pool_forward,
    .conv2d_pool_backward = conv2d_pool_backward,
    .depthwise_forward = depthwise_forward,
    .depthwise_backward = depthwise_backward,
    .dense_forward = dense_forward,
    .dense_backward = dense_backward,
    .maxpool2d_forward = maxpool2d_forward,
    .maxpool2d_backward = maxpool2d_backward,
    .avgpool2d_forward = avgpool2d_forward,
    .avgpool2d_backward = avgpool2d_backward,
    .batchnorm_forward = batchnorm_forward,
    .batchnorm_backward = batchnorm_backward,
    .conv2d_batchnorm_inference = conv2d_batchnorm_inference,
    .batchnorm_activation_forward = batchnorm_activation_forward,
    .batchnorm_activation_backward = batchnorm_activation_backward,
    .activation_forward = activation_forward,
    .activation_backward = activation_backward,
    .dropout_forward = dropout_forward,
    .dropout_backward = dropout_backward,
    .adam = adam,
};
