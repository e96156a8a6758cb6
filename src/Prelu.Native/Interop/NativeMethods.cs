using System.Runtime.InteropServices;

namespace Prelu.Native.Interop;

/// <summary>
/// The C ABI of libprelu (native/include/prelu.h), bound with source-generated marshalling: no
/// reflection, safe under Native AOT. Call <see cref="PreluNativeLibrary.EnsureLoaded"/> before any of
/// these, so that a missing library is a clear message rather than a bare DllNotFoundException.
/// </summary>
internal static unsafe partial class NativeMethods
{
    public const string LibraryName = "prelu";

    [LibraryImport(LibraryName, EntryPoint = "prelu_abi_version")]
    public static partial int AbiVersion();

    [LibraryImport(LibraryName, EntryPoint = "prelu_version")]
    public static partial nint Version();

    [LibraryImport(LibraryName, EntryPoint = "prelu_cpu_features")]
    public static partial int CpuFeatures();

    [LibraryImport(LibraryName, EntryPoint = "prelu_kernels_in_use")]
    public static partial int KernelsInUse();

    [LibraryImport(LibraryName, EntryPoint = "prelu_kernels_supported")]
    public static partial int KernelsSupported(int set);

    [LibraryImport(LibraryName, EntryPoint = "prelu_select_kernels")]
    public static partial int SelectKernels(int set);

    [LibraryImport(LibraryName, EntryPoint = "prelu_set_threads")]
    public static partial void SetThreads(int threads);

    [LibraryImport(LibraryName, EntryPoint = "prelu_get_threads")]
    public static partial int GetThreads();

    [LibraryImport(LibraryName, EntryPoint = "prelu_flops_executed")]
    public static partial long FlopsExecuted();

    // ---- Kernels (see prelu.h) ----------------------------------------------------------------------

    [StructLayout(LayoutKind.Sequential)]
    public struct Conv2DShape
    {
        public int Batch, Height, Width, InChannels, Filters;
        public int KernelH, KernelW, StrideY, StrideX, PadTop, PadLeft, OutH, OutW;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct Activation
    {
        public int Kind;
        public float Parameter;
        public int Sharing;
        public int FeatureLength;
        public int Channels;
        public int AlphaLength;
        public int* AlphaMap;
    }

    [LibraryImport(LibraryName, EntryPoint = "prelu_conv2d_forward")]
    public static partial void Conv2DForward(Conv2DShape* s, Activation* act, float* input, float* kernel, float* bias, float* alpha, float* z, float* y);

    [LibraryImport(LibraryName, EntryPoint = "prelu_conv2d_backward")]
    public static partial void Conv2DBackward(Conv2DShape* s, Activation* act, float* input, float* kernel, float* alpha, float* z,
        float* dy, float* dx, float* dkernel, float* dbias, float* dalpha);

    [LibraryImport(LibraryName, EntryPoint = "prelu_depthwise_conv2d_forward")]
    public static partial void DepthwiseConv2DForward(Conv2DShape* shape, Activation* activation, float* input, float* kernel, float* bias, float* alpha,
        float* z, float* y);

    [LibraryImport(LibraryName, EntryPoint = "prelu_depthwise_conv2d_backward")]
    public static partial void DepthwiseConv2DBackward(Conv2DShape* shape, Activation* activation, float* input, float* kernel, float* alpha, float* z,
        float* dy, float* dx, float* dkernel, float* dbias, float* dalpha);

    /// <summary>prelu_dropout: a dropout run on a fused call's result in the same call.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Dropout
    {
        public float Rate;
        public ulong Seed, Step;
        public float* Mask, Output;
    }

    [LibraryImport(LibraryName, EntryPoint = "prelu_conv2d_pool_forward")]
    public static partial void Conv2DPoolForward(Conv2DShape* s, Activation* act, Conv2DShape* pool, float* input, float* kernel, float* bias,
        float* alpha, float* z, float* y, float* pooled, Dropout* dropout);

    [LibraryImport(LibraryName, EntryPoint = "prelu_conv2d_pool_backward")]
    public static partial void Conv2DPoolBackward(Conv2DShape* s, Activation* act, Conv2DShape* pool, float* input, float* kernel, float* alpha,
        float* z, float* y, float* dpooled, float* dropoutMask, float* dy, float* dx, float* dkernel, float* dbias, float* dalpha);

    [LibraryImport(LibraryName, EntryPoint = "prelu_dense_forward")]
    public static partial void DenseForward(int batch, int inputs, int units, Activation* act, float* input, float* kernel, float* bias,
        float* alpha, float* z, float* y);

    [LibraryImport(LibraryName, EntryPoint = "prelu_dense_backward")]
    public static partial void DenseBackward(int batch, int inputs, int units, Activation* act, float* input, float* kernel, float* alpha,
        float* z, float* dy, float* dx, float* dkernel, float* dbias, float* dalpha);

    [LibraryImport(LibraryName, EntryPoint = "prelu_maxpool2d_forward")]
    public static partial void MaxPool2DForward(Conv2DShape* s, float* input, float* y);

    [LibraryImport(LibraryName, EntryPoint = "prelu_maxpool2d_backward")]
    public static partial void MaxPool2DBackward(Conv2DShape* s, float* input, float* dy, float* dx);

    [LibraryImport(LibraryName, EntryPoint = "prelu_avgpool2d_forward")]
    public static partial void AvgPool2DForward(Conv2DShape* s, float* input, float* y);

    [LibraryImport(LibraryName, EntryPoint = "prelu_avgpool2d_backward")]
    public static partial void AvgPool2DBackward(Conv2DShape* s, float* dy, float* dx);

    [LibraryImport(LibraryName, EntryPoint = "prelu_batchnorm_forward")]
    public static partial void BatchNormForward(int rows, int channels, int training, float momentum, float epsilon, float* x, float* gamma,
        float* beta, float* movingMean, float* movingVariance, float* y);

    [LibraryImport(LibraryName, EntryPoint = "prelu_batchnorm_backward")]
    public static partial void BatchNormBackward(int rows, int channels, float epsilon, float* x, float* gamma, float* dy, float* dx,
        float* dgamma, float* dbeta);

    [LibraryImport(LibraryName, EntryPoint = "prelu_conv2d_batchnorm_inference")]
    public static partial void Conv2DBatchNormInference(Conv2DShape* s, Activation* act, float* input, float* kernel, float* bias, float* gamma, float* beta,
        float* movingMean, float* movingVariance, float epsilon, float* alpha, float* z, float* y);

    [LibraryImport(LibraryName, EntryPoint = "prelu_batchnorm_activation_forward")]
    public static partial void BatchNormActivationForward(int batch, int positions, int channels, int training, float momentum, float epsilon, float* x,
        float* gamma, float* beta, float* movingMean, float* movingVariance, Activation* act, float* alpha, float* z, float* y);

    [LibraryImport(LibraryName, EntryPoint = "prelu_batchnorm_activation_backward")]
    public static partial void BatchNormActivationBackward(int batch, int positions, int channels, float epsilon, float* x, float* gamma, Activation* act,
        float* alpha, float* z, float* dy, float* dgamma, float* dbeta, float* dalpha);

    [LibraryImport(LibraryName, EntryPoint = "prelu_activation_forward")]
    public static partial void ActivationForward(int batch, Activation* act, float* x, float* alpha, float* y);

    [LibraryImport(LibraryName, EntryPoint = "prelu_activation_backward")]
    public static partial void ActivationBackward(int batch, Activation* act, float* x, float* alpha, float* dy, float* dx, float* dalpha);

    [LibraryImport(LibraryName, EntryPoint = "prelu_dropout_forward")]
    public static partial void DropoutForward(long length, float rate, ulong seed, ulong step, float* x, float* mask, float* y);

    [LibraryImport(LibraryName, EntryPoint = "prelu_dropout_backward")]
    public static partial void DropoutBackward(long length, float* mask, float* dy, float* dx);

    [LibraryImport(LibraryName, EntryPoint = "prelu_merge_forward")]
    public static partial void MergeForward(long length, int kind, int count, float** inputs, float* y);

    [LibraryImport(LibraryName, EntryPoint = "prelu_merge_backward")]
    public static partial void MergeBackward(long length, int kind, int count, float** inputs, float* y, float* dy, float** dx);

    [LibraryImport(LibraryName, EntryPoint = "prelu_concatenate_forward")]
    public static partial void ConcatenateForward(long rows, int count, int* widths, float** inputs, float* y);

    [LibraryImport(LibraryName, EntryPoint = "prelu_concatenate_backward")]
    public static partial void ConcatenateBackward(long rows, int count, int* widths, float* dy, float** dx);

    [LibraryImport(LibraryName, EntryPoint = "prelu_accumulate")]
    public static partial void Accumulate(long length, float* gradient, float* total);

    [LibraryImport(LibraryName, EntryPoint = "prelu_loss")]
    public static partial void Loss(int kind, float delta, int batch, int outputs, float* z, float* targets, float* predictions, float* dz, float* metrics);

    [LibraryImport(LibraryName, EntryPoint = "prelu_adam")]
    public static partial void Adam(long length, float alphaT, float beta1, float beta2, float epsilon, float* param, float* grad, float* m, float* v);

    [LibraryImport(LibraryName, EntryPoint = "prelu_sgd")]
    public static partial void Sgd(long length, float learningRate, float momentum, int nesterov, float* param, float* grad, float* velocity);

    [LibraryImport(LibraryName, EntryPoint = "prelu_regularizer")]
    public static partial void Regularizer(long length, float l1, float l2, float* param, float* grad, float* metrics, float weight);
}
