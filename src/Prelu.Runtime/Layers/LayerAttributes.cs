namespace Prelu;

// The attributes a network is declared with. Put [InputShape] and then one attribute per layer on a
// partial class, in layer order, with Keras's names and defaults; the source generator turns the class
// into statically-shaped forward and backward code (see docs/ARCHITECTURE.md). Every argument must be a
// compile-time constant: the generator checks them all and reports mistakes as compiler diagnostics.
//
// Initializers, regularizers and constraints are written as Keras names them, with arguments in
// parentheses where Keras takes some: "glorot_uniform", "constant(0.25)", "random_normal(0, 0.05)",
// "l2(0.01)", "l1_l2(0.01, 0.01)", "non_neg", "max_norm(2)", "max_norm(2, axis=[0, 1, 2])".

/// <summary>Marks a class as a network and gives the shape of one input sample: (height, width, channels) or (features).</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class InputShapeAttribute(params int[] shape) : Attribute
{
    public int[] Shape { get; } = shape;
}

/// <summary>Keras's Conv2D: <c>filters</c> kernels of <c>kernel_size</c> over an NHWC map.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class Conv2DAttribute(int filters, params int[] kernelSize) : Attribute
{
    public int Filters { get; } = filters;

    /// <summary>One size for a square kernel, or (height, width).</summary>
    public int[] KernelSize { get; } = kernelSize;

    /// <summary>One stride for both axes, or (y, x). Default 1.</summary>
    public int[] Strides { get; set; } = [1];

    /// <summary>"valid" (default) or "same".</summary>
    public string Padding { get; set; } = "valid";

    /// <summary>"linear" (default), "relu", "leaky_relu".</summary>
    public string Activation { get; set; } = "linear";

    public bool UseBias { get; set; } = true;
    public string KernelInitializer { get; set; } = "glorot_uniform";
    public string BiasInitializer { get; set; } = "zeros";
    public string? KernelRegularizer { get; set; }
    public string? BiasRegularizer { get; set; }
    public string? KernelConstraint { get; set; }
    public string? BiasConstraint { get; set; }

    /// <summary>The layer's name (Keras's automatic "conv2d", "conv2d_1", ... when not given).</summary>
    public string? Name { get; set; }
}

/// <summary>Keras's MaxPooling2D; strides default to the pool size, and 'valid' drops what does not fill a window.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class MaxPooling2DAttribute(params int[] poolSize) : Attribute
{
    /// <summary>One size for a square pool, or (height, width). Default 2.</summary>
    public int[] PoolSize { get; } = poolSize;

    /// <summary>One stride, or (y, x); empty means the pool size.</summary>
    public int[] Strides { get; set; } = [];

    public string Padding { get; set; } = "valid";
    public string? Name { get; set; }
}

/// <summary>Keras's Dropout: inverted, active in training only.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class DropoutAttribute(double rate) : Attribute
{
    public double Rate { get; } = rate;
    public string? Name { get; set; }
}

/// <summary>Keras's Flatten: (height, width, channels) to (features); free.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class FlattenAttribute : Attribute
{
    public string? Name { get; set; }
}

/// <summary>Keras's Dense: <c>units</c> outputs from a flat input.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class DenseAttribute(int units) : Attribute
{
    public int Units { get; } = units;

    /// <summary>"linear" (default), "relu", "leaky_relu", or "softmax" on the output layer.</summary>
    public string Activation { get; set; } = "linear";

    public bool UseBias { get; set; } = true;
    public string KernelInitializer { get; set; } = "glorot_uniform";
    public string BiasInitializer { get; set; } = "zeros";
    public string? KernelRegularizer { get; set; }
    public string? BiasRegularizer { get; set; }
    public string? KernelConstraint { get; set; }
    public string? BiasConstraint { get; set; }
    public string? Name { get; set; }
}

/// <summary>
/// Keras's PReLU: f(x) = x for x &gt; 0, alpha * x otherwise, alpha learned. Alpha's shape is the input's
/// without the batch axis, with size 1 on each of <see cref="SharedAxes"/> (1-based): none gives one
/// alpha per element, [1, 2] on a map one per channel, [1, 2, 3] one for the layer.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class PReLUAttribute : Attribute
{
    public string AlphaInitializer { get; set; } = "zeros";
    public string? AlphaRegularizer { get; set; }
    public string? AlphaConstraint { get; set; }
    public int[] SharedAxes { get; set; } = [];
    public string? Name { get; set; }
}

/// <summary>Keras's ReLU layer.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class ReLUAttribute : Attribute
{
    public string? Name { get; set; }
}

/// <summary>Keras's LeakyReLU layer: f(x) = x for x &gt; 0, alpha * x otherwise (Keras's default alpha 0.3).</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class LeakyReLUAttribute : Attribute
{
    public double Alpha { get; set; } = 0.3;
    public string? Name { get; set; }
}
