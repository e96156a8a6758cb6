namespace Prelu;

// The attributes a network is declared with. Put [InputShape] and then one attribute per layer on a
// partial class, in layer order, with Keras's names and defaults; the source generator turns the class
// into statically-shaped forward and backward code (see docs/ARCHITECTURE.md). Every argument must be a
// compile-time constant: the generator checks them all and reports mistakes as compiler diagnostics.
//
// Initializers, regularizers and constraints are written as Keras names them, with arguments in
// parentheses where Keras takes some: "glorot_uniform", "constant(0.25)", "random_normal(0, 0.05)",
// "l2(0.01)", "l1_l2(0.01, 0.01)", "non_neg", "max_norm(2)", "max_norm(2, axis=[0, 1, 2])".
//
// Layers are wired as Keras's functional API wires them: each reads the layer declared above it unless its Input
// names another (or "input", the model's input), and merge layers ([Add("a", "b")], [Concatenate(...)]) name all
// of theirs. The model's output is the last layer; every other layer must lead to it.

/// <summary>Marks a class as a network and gives the shape of one input sample: (height, width, channels) or (features).</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class InputShapeAttribute(params int[] shape) : Attribute
{
    public int[] Shape { get; } = shape;
}

/// <summary>
/// Keras's <c>compile(loss=...)</c>: the loss the model trains with, by Keras's name (categorical_crossentropy,
/// sparse_categorical_crossentropy, binary_crossentropy, mean_squared_error or mse, mean_absolute_error or mae,
/// huber). Without it, categorical_crossentropy. The generator checks that the output layer fits the loss: the
/// categorical cross-entropies read a softmax output, binary cross-entropy sigmoid outputs (each computed from the
/// logits by the loss), and the regression losses any output but a softmax.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class LossAttribute(string name) : Attribute
{
    public string Name { get; } = name;

    /// <summary>Huber's delta: where the loss turns from squared to linear in the error (Keras's default 1).</summary>
    public double Delta { get; set; } = 1.0;
}

/// <summary>Keras's Conv2D: <c>filters</c> kernels of <c>kernel_size</c> over an NHWC map.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class Conv2DAttribute(int filters, params int[] kernelSize) : Attribute
{
    public int Filters { get; } = filters;

    /// <summary>One size for a square kernel, or (height, width).</summary>
    public int[] KernelSize { get; } = kernelSize;

    /// <summary>One stride for both axes, or (y, x). Default 1.</summary>
    public int[] Strides { get; set; } = [LayerDefaults.ConvolutionStride];

    /// <summary>"valid" (default) or "same".</summary>
    public string Padding { get; set; } = LayerDefaults.Padding;

    /// <summary>"linear" (default), or an activation fused into the layer (see <see cref="ActivationAttribute"/>).</summary>
    public string Activation { get; set; } = LayerDefaults.Activation;

    public bool UseBias { get; set; } = true;
    public string KernelInitializer { get; set; } = LayerDefaults.KernelInitializer;
    public string BiasInitializer { get; set; } = LayerDefaults.BiasInitializer;
    public string? KernelRegularizer { get; set; }
    public string? BiasRegularizer { get; set; }
    public string? KernelConstraint { get; set; }
    public string? BiasConstraint { get; set; }

    /// <summary>The layer's name (Keras's automatic "conv2d", "conv2d_1", ... when not given).</summary>
    public string? Name { get; set; }

    /// <summary>The layer (or "input", the model's input) this one reads, by name; the layer declared above it when not given.</summary>
    public string? Input { get; set; }
}

/// <summary>
/// Keras's DepthwiseConv2D: each input channel convolved with <see cref="DepthMultiplier"/> kernels of its own
/// (kernel (KH, KW, channels, multiplier)); the output has channels x multiplier channels, channel c x multiplier + m
/// from input channel c.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class DepthwiseConv2DAttribute(params int[] kernelSize) : Attribute
{
    /// <summary>One size for a square kernel, or (height, width).</summary>
    public int[] KernelSize { get; } = kernelSize;

    /// <summary>One stride for both axes, or (y, x). Default 1.</summary>
    public int[] Strides { get; set; } = [LayerDefaults.ConvolutionStride];

    public string Padding { get; set; } = LayerDefaults.Padding;

    /// <summary>Output channels per input channel. Default 1.</summary>
    public int DepthMultiplier { get; set; } = LayerDefaults.DepthMultiplier;

    public string Activation { get; set; } = LayerDefaults.Activation;
    public bool UseBias { get; set; } = true;
    public string DepthwiseInitializer { get; set; } = LayerDefaults.KernelInitializer;
    public string BiasInitializer { get; set; } = LayerDefaults.BiasInitializer;
    public string? DepthwiseRegularizer { get; set; }
    public string? BiasRegularizer { get; set; }
    public string? DepthwiseConstraint { get; set; }
    public string? BiasConstraint { get; set; }
    public string? Name { get; set; }
    public string? Input { get; set; }
}

/// <summary>Keras's MaxPooling2D; strides default to the pool size, and 'valid' drops what does not fill a window.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class MaxPooling2DAttribute(params int[] poolSize) : Attribute
{
    /// <summary>One size for a square pool, or (height, width). Default 2.</summary>
    public int[] PoolSize { get; } = poolSize;

    /// <summary>One stride, or (y, x); empty means the pool size.</summary>
    public int[] Strides { get; set; } = [];

    public string Padding { get; set; } = LayerDefaults.Padding;
    public string? Name { get; set; }
    public string? Input { get; set; }
}

/// <summary>
/// Keras's AveragePooling2D: each window's mean; strides default to the pool size. With 'same' padding
/// the padded positions are left out of each window's count, as Keras leaves them out.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class AveragePooling2DAttribute(params int[] poolSize) : Attribute
{
    /// <summary>One size for a square pool, or (height, width). Default 2.</summary>
    public int[] PoolSize { get; } = poolSize;

    /// <summary>One stride, or (y, x); empty means the pool size.</summary>
    public int[] Strides { get; set; } = [];

    public string Padding { get; set; } = LayerDefaults.Padding;
    public string? Name { get; set; }
    public string? Input { get; set; }
}

/// <summary>Keras's GlobalAveragePooling2D: (height, width, channels) to (channels), each channel's mean over the map.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class GlobalAveragePooling2DAttribute : Attribute
{
    public string? Name { get; set; }
    public string? Input { get; set; }
}

/// <summary>Keras's GlobalMaxPooling2D: (height, width, channels) to (channels), each channel's maximum over the map.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class GlobalMaxPooling2DAttribute : Attribute
{
    public string? Name { get; set; }
    public string? Input { get; set; }
}

/// <summary>
/// Keras's Normalization: each feature (the last axis) shifted and scaled to mean 0 and variance 1 by statistics of the
/// training data, which <c>Adapt</c> on the model computes before training (Keras's <c>layer.adapt(data)</c>); the mean,
/// variance and count are non-trainable state, kept in checkpoints. It reads the model's input.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class NormalizationAttribute : Attribute
{
    /// <summary>The axis of the features, counted as Keras counts it (the batch is axis 0): -1, the last, is the one supported.</summary>
    public int Axis { get; set; } = LayerDefaults.Axis;

    public string? Name { get; set; }
    public string? Input { get; set; }
}

/// <summary>
/// Keras's BatchNormalization over the last axis (the channels of a map, the features of a flat input).
/// Training normalises with the batch's mean and variance and moves the moving statistics towards them;
/// evaluation and prediction normalise with the moving statistics. gamma and beta are trained; the moving
/// mean and variance are non-trainable state that checkpoints keep and the summary counts as Keras does.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class BatchNormalizationAttribute : Attribute
{
    /// <summary>The normalised axis, counted as Keras counts it (the batch is axis 0): -1, the last, is the one supported.</summary>
    public int Axis { get; set; } = LayerDefaults.Axis;

    public double Momentum { get; set; } = LayerDefaults.Momentum;
    public double Epsilon { get; set; } = LayerDefaults.Epsilon;

    /// <summary>Learn an offset beta.</summary>
    public bool Center { get; set; } = LayerDefaults.Center;

    /// <summary>Learn a scale gamma.</summary>
    public bool Scale { get; set; } = LayerDefaults.Scale;

    public string BetaInitializer { get; set; } = LayerDefaults.BetaInitializer;
    public string GammaInitializer { get; set; } = LayerDefaults.GammaInitializer;
    public string MovingMeanInitializer { get; set; } = LayerDefaults.MovingMeanInitializer;
    public string MovingVarianceInitializer { get; set; } = LayerDefaults.MovingVarianceInitializer;
    public string? BetaRegularizer { get; set; }
    public string? GammaRegularizer { get; set; }
    public string? BetaConstraint { get; set; }
    public string? GammaConstraint { get; set; }
    public string? Name { get; set; }
    public string? Input { get; set; }
}

/// <summary>Keras's Dropout: inverted, active in training only.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class DropoutAttribute(double rate) : Attribute
{
    public double Rate { get; } = rate;
    public string? Name { get; set; }
    public string? Input { get; set; }
}

/// <summary>Keras's Flatten: (height, width, channels) to (features); free.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class FlattenAttribute : Attribute
{
    public string? Name { get; set; }
    public string? Input { get; set; }
}

/// <summary>Keras's Dense: <c>units</c> outputs from a flat input.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class DenseAttribute(int units) : Attribute
{
    public int Units { get; } = units;

    /// <summary>"linear" (default), an activation fused into the layer (see <see cref="ActivationAttribute"/>), or "softmax" on the output layer.</summary>
    public string Activation { get; set; } = LayerDefaults.Activation;

    public bool UseBias { get; set; } = true;
    public string KernelInitializer { get; set; } = LayerDefaults.KernelInitializer;
    public string BiasInitializer { get; set; } = LayerDefaults.BiasInitializer;
    public string? KernelRegularizer { get; set; }
    public string? BiasRegularizer { get; set; }
    public string? KernelConstraint { get; set; }
    public string? BiasConstraint { get; set; }
    public string? Name { get; set; }
    public string? Input { get; set; }
}

/// <summary>
/// Keras's PReLU: f(x) = x for x &gt; 0, alpha * x otherwise, alpha learned. Alpha's shape is the input's
/// without the batch axis, with size 1 on each of <see cref="SharedAxes"/> (1-based): none gives one
/// alpha per element, [1, 2] on a map one per channel, [1, 2, 3] one for the layer.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class PReLUAttribute : Attribute
{
    public string AlphaInitializer { get; set; } = LayerDefaults.AlphaInitializer;
    public string? AlphaRegularizer { get; set; }
    public string? AlphaConstraint { get; set; }
    public int[] SharedAxes { get; set; } = [];
    public string? Name { get; set; }
    public string? Input { get; set; }
}

/// <summary>Keras's ReLU layer.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class ReLUAttribute : Attribute
{
    public string? Name { get; set; }
    public string? Input { get; set; }
}

/// <summary>Keras's LeakyReLU layer: f(x) = x for x &gt; 0, alpha * x otherwise (Keras's default alpha 0.3).</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class LeakyReLUAttribute : Attribute
{
    public double Alpha { get; set; } = LayerDefaults.LeakyReLUSlope;
    public string? Name { get; set; }
    public string? Input { get; set; }
}

/// <summary>Keras's ELU layer: f(x) = x for x &gt; 0, alpha (e^x - 1) otherwise (alpha 1.0 by default).</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class ELUAttribute : Attribute
{
    public double Alpha { get; set; } = LayerDefaults.EluAlpha;
    public string? Name { get; set; }
    public string? Input { get; set; }
}

/// <summary>
/// Keras's Activation layer: "relu", "sigmoid", "tanh", "elu", "selu", "gelu" (exact, with erf), "softplus",
/// "swish" (also "silu"), "leaky_relu" (slope 0.2), "linear", or "softmax" right after the output Dense layer.
/// The same names work as the Activation argument of Conv2D and Dense; either way the activation is fused
/// into the layer before it where there is one.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class ActivationAttribute(string activation) : Attribute
{
    public string Activation { get; } = activation;
    public string? Name { get; set; }
    public string? Input { get; set; }
}

/// <summary>Keras's Add: the element-wise sum of layers of one shape, named in order.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class AddAttribute(params string[] inputs) : Attribute
{
    /// <summary>The layers added, by name ("input" for the model's input); two or more.</summary>
    public string[] Inputs { get; } = inputs;

    public string? Name { get; set; }
}

/// <summary>Keras's Multiply: the element-wise product of layers of one shape.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class MultiplyAttribute(params string[] inputs) : Attribute
{
    public string[] Inputs { get; } = inputs;
    public string? Name { get; set; }
}

/// <summary>Keras's Average: the element-wise mean of layers of one shape.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class AverageAttribute(params string[] inputs) : Attribute
{
    public string[] Inputs { get; } = inputs;
    public string? Name { get; set; }
}

/// <summary>Keras's Maximum: the element-wise maximum of layers of one shape (on a tie the gradient goes to the first).</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class MaximumAttribute(params string[] inputs) : Attribute
{
    public string[] Inputs { get; } = inputs;
    public string? Name { get; set; }
}

/// <summary>
/// Keras's Concatenate: layers joined along <see cref="Axis"/> (counted as Keras counts it, the batch being axis 0;
/// -1, the channels of a map, by default), their other sizes equal.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class ConcatenateAttribute(params string[] inputs) : Attribute
{
    public string[] Inputs { get; } = inputs;
    public int Axis { get; set; } = LayerDefaults.ConcatenateAxis;
    public string? Name { get; set; }
}
