using System;

// Compiled into the generator too (one place for the output-size formula), where it is internal and in the generator's
// own namespace, so that a project that sees both assemblies (the generator's tests) meets one Padding only.
#if PRELU_GENERATOR
namespace Prelu.Generators.Shared;
#else
namespace Prelu.Kernels;
#endif

/// <summary>Keras's padding: <c>valid</c> (no padding) or <c>same</c> (output size ceil(input / stride)).</summary>
#if PRELU_GENERATOR
internal
#else
public
#endif
enum Padding
{
    /// <summary>Keras's "valid": no padding; what does not fill a window is dropped.</summary>
    Valid,
    /// <summary>Keras's "same": the output ceil(input / stride) long, the padding split with the extra after.</summary>
    Same,
}

/// <summary>Output size and leading padding of one spatial axis, as TensorFlow (and so Keras) computes them.</summary>
#if PRELU_GENERATOR
internal
#else
public
#endif
static class SpatialAxis
{
    /// <summary>
    /// valid: out = floor((in - window) / stride) + 1, no padding. same: out = ceil(in / stride), and the
    /// padding (out - 1) * stride + window - in is split with the smaller half before (TensorFlow's rule).
    /// </summary>
    public static (int Output, int PadBefore) Resolve(int input, int window, int stride, Padding padding)
    {
        if (padding == Padding.Same)
        {
            int output = (input + stride - 1) / stride;
            int total = Math.Max((output - 1) * stride + window - input, 0);
            return (output, total / 2);
        }
        return (input < window ? 0 : (input - window) / stride + 1, 0);
    }
}
