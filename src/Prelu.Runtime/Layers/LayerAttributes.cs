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
    /// <summary>One sample's shape, without the batch axis: (height, width, channels) for images, (features) for a vector.</summary>
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
    /// <summary>The loss by Keras's name.</summary>
    public string Name { get; } = name;

    /// <summary>Huber's delta: where the loss turns from squared to linear in the error (Keras's default 1).</summary>
    public double Delta { get; set; } = 1.0;
}

/// <summary>
/// The model is built for prediction only: no gradient arena, no backward pass in the generated code, an activation
/// arena of the forward pass's buffers alone, so that an app that only classifies carries and allocates only what it
/// runs. It loads a trained model's checkpoint (the same layers, so the same tensor names), predicts, evaluates and
/// exports; training it is refused.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class InferenceOnlyAttribute : Attribute;

/// <summary>Keras's Conv2D: <c>filters</c> kernels of <c>kernel_size</c> over an NHWC map.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class Conv2DAttribute(int filters, params int[] kernelSize) : Attribute
{
    /// <summary>Kernels, and so output channels.</summary>
    public int Filters { get; } = filters;

    /// <summary>One size for a square kernel, or (height, width).</summary>
    public int[] KernelSize { get; } = kernelSize;

    /// <summary>One stride for both axes, or (y, x). Default 1.</summary>
    public int[] Strides { get; set; } = [LayerDefaults.ConvolutionStride];

    /// <summary>"valid" (default) or "same".</summary>
    public string Padding { get; set; } = LayerDefaults.Padding;

    /// <summary>"linear" (default), or an activation fused into the layer (see <see cref="ActivationAttribute"/>).</summary>
    public string Activation { get; set; } = LayerDefaults.Activation;

    /// <summary>Whether the layer adds a bias (Keras's default: it does).</summary>
    public bool UseBias { get; set; } = true;
    /// <summary>How the kernel starts, by Keras's name ("glorot_uniform" by default, "he_normal", "random_normal(0, 0.05)", ...).</summary>
    public string KernelInitializer { get; set; } = LayerDefaults.KernelInitializer;
    /// <summary>How the bias starts, by Keras's name ("zeros" by default).</summary>
    public string BiasInitializer { get; set; } = LayerDefaults.BiasInitializer;
    /// <summary>A penalty on the kernel added to the loss: "l1(0.01)", "l2(0.01)" or "l1_l2(0.01, 0.01)"; none when not given.</summary>
    public string? KernelRegularizer { get; set; }
    /// <summary>A penalty on the bias added to the loss, as <c>KernelRegularizer</c>'s.</summary>
    public string? BiasRegularizer { get; set; }
    /// <summary>A constraint applied to the kernel after every update: "non_neg", "max_norm(2)", "unit_norm", "min_max_norm(0, 1)" (each with an optional axis=[...]).</summary>
    public string? KernelConstraint { get; set; }
    /// <summary>A constraint applied to the bias after every update, as <c>KernelConstraint</c>'s.</summary>
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

    /// <summary>"valid" (default: no padding, what does not fill a window is dropped) or "same" (the output as large as the input divided by the stride, as Keras pads).</summary>
    public string Padding { get; set; } = LayerDefaults.Padding;

    /// <summary>Output channels per input channel. Default 1.</summary>
    public int DepthMultiplier { get; set; } = LayerDefaults.DepthMultiplier;

    /// <summary>"linear" (default), or an activation fused into the layer (see <see cref="ActivationAttribute"/>).</summary>
    public string Activation { get; set; } = LayerDefaults.Activation;
    /// <summary>Whether the layer adds a bias (Keras's default: it does).</summary>
    public bool UseBias { get; set; } = true;
    /// <summary>How the depthwise kernel starts, by Keras's name ("glorot_uniform" by default).</summary>
    public string DepthwiseInitializer { get; set; } = LayerDefaults.KernelInitializer;
    /// <summary>How the bias starts, by Keras's name ("zeros" by default).</summary>
    public string BiasInitializer { get; set; } = LayerDefaults.BiasInitializer;
    /// <summary>A penalty on the depthwise kernel added to the loss: "l1(0.01)", "l2(0.01)" or "l1_l2(0.01, 0.01)".</summary>
    public string? DepthwiseRegularizer { get; set; }
    /// <summary>A penalty on the bias added to the loss, as <c>KernelRegularizer</c>'s.</summary>
    public string? BiasRegularizer { get; set; }
    /// <summary>A constraint applied to the depthwise kernel after every update ("non_neg", "max_norm(2)", ...).</summary>
    public string? DepthwiseConstraint { get; set; }
    /// <summary>A constraint applied to the bias after every update, as <c>KernelConstraint</c>'s.</summary>
    public string? BiasConstraint { get; set; }
    /// <summary>The layer's name (Keras's automatic one, such as "dense" or "dense_1", when not given); checkpoints name the layer's tensors by it.</summary>
    public string? Name { get; set; }
    /// <summary>The layer (or "input", the model's input) this one reads, by name; the layer declared above it when not given.</summary>
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

    /// <summary>"valid" (default: no padding, what does not fill a window is dropped) or "same" (the output as large as the input divided by the stride, as Keras pads).</summary>
    public string Padding { get; set; } = LayerDefaults.Padding;
    /// <summary>The layer's name (Keras's automatic one, such as "dense" or "dense_1", when not given); checkpoints name the layer's tensors by it.</summary>
    public string? Name { get; set; }
    /// <summary>The layer (or "input", the model's input) this one reads, by name; the layer declared above it when not given.</summary>
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

    /// <summary>"valid" (default: no padding, what does not fill a window is dropped) or "same" (the output as large as the input divided by the stride, as Keras pads).</summary>
    public string Padding { get; set; } = LayerDefaults.Padding;
    /// <summary>The layer's name (Keras's automatic one, such as "dense" or "dense_1", when not given); checkpoints name the layer's tensors by it.</summary>
    public string? Name { get; set; }
    /// <summary>The layer (or "input", the model's input) this one reads, by name; the layer declared above it when not given.</summary>
    public string? Input { get; set; }
}

/// <summary>Keras's GlobalAveragePooling2D: (height, width, channels) to (channels), each channel's mean over the map.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class GlobalAveragePooling2DAttribute : Attribute
{
    /// <summary>The layer's name (Keras's automatic one, such as "dense" or "dense_1", when not given); checkpoints name the layer's tensors by it.</summary>
    public string? Name { get; set; }
    /// <summary>The layer (or "input", the model's input) this one reads, by name; the layer declared above it when not given.</summary>
    public string? Input { get; set; }
}

/// <summary>Keras's GlobalMaxPooling2D: (height, width, channels) to (channels), each channel's maximum over the map.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class GlobalMaxPooling2DAttribute : Attribute
{
    /// <summary>The layer's name (Keras's automatic one, such as "dense" or "dense_1", when not given); checkpoints name the layer's tensors by it.</summary>
    public string? Name { get; set; }
    /// <summary>The layer (or "input", the model's input) this one reads, by name; the layer declared above it when not given.</summary>
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

    /// <summary>The layer's name (Keras's automatic one, such as "dense" or "dense_1", when not given); checkpoints name the layer's tensors by it.</summary>
    public string? Name { get; set; }
    /// <summary>The layer (or "input", the model's input) this one reads, by name; the layer declared above it when not given.</summary>
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

    /// <summary>How much of the moving mean and variance each training step keeps (Keras's default 0.99).</summary>
    public double Momentum { get; set; } = LayerDefaults.Momentum;
    /// <summary>Added to the variance before its square root (Keras's default 1e-3).</summary>
    public double Epsilon { get; set; } = LayerDefaults.Epsilon;

    /// <summary>Learn an offset beta.</summary>
    public bool Center { get; set; } = LayerDefaults.Center;

    /// <summary>Learn a scale gamma.</summary>
    public bool Scale { get; set; } = LayerDefaults.Scale;

    /// <summary>How beta starts ("zeros" by default).</summary>
    public string BetaInitializer { get; set; } = LayerDefaults.BetaInitializer;
    /// <summary>How gamma starts ("ones" by default).</summary>
    public string GammaInitializer { get; set; } = LayerDefaults.GammaInitializer;
    /// <summary>How the moving mean starts ("zeros" by default).</summary>
    public string MovingMeanInitializer { get; set; } = LayerDefaults.MovingMeanInitializer;
    /// <summary>How the moving variance starts ("ones" by default).</summary>
    public string MovingVarianceInitializer { get; set; } = LayerDefaults.MovingVarianceInitializer;
    /// <summary>A penalty on beta added to the loss ("l2(0.01)", ...).</summary>
    public string? BetaRegularizer { get; set; }
    /// <summary>A penalty on gamma added to the loss ("l2(0.01)", ...).</summary>
    public string? GammaRegularizer { get; set; }
    /// <summary>A constraint applied to beta after every update ("non_neg", "max_norm(2)", ...).</summary>
    public string? BetaConstraint { get; set; }
    /// <summary>A constraint applied to gamma after every update ("non_neg", "max_norm(2)", ...).</summary>
    public string? GammaConstraint { get; set; }
    /// <summary>The layer's name (Keras's automatic one, such as "dense" or "dense_1", when not given); checkpoints name the layer's tensors by it.</summary>
    public string? Name { get; set; }
    /// <summary>The layer (or "input", the model's input) this one reads, by name; the layer declared above it when not given.</summary>
    public string? Input { get; set; }
}

/// <summary>Keras's Dropout: inverted, active in training only.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class DropoutAttribute(double rate) : Attribute
{
    /// <summary>The share of inputs set to zero in training, in [0, 1); the others are scaled by 1 / (1 - rate).</summary>
    public double Rate { get; } = rate;
    /// <summary>The layer's name (Keras's automatic one, such as "dense" or "dense_1", when not given); checkpoints name the layer's tensors by it.</summary>
    public string? Name { get; set; }
    /// <summary>The layer (or "input", the model's input) this one reads, by name; the layer declared above it when not given.</summary>
    public string? Input { get; set; }
}

/// <summary>Keras's Flatten: (height, width, channels) to (features); free.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class FlattenAttribute : Attribute
{
    /// <summary>The layer's name (Keras's automatic one, such as "dense" or "dense_1", when not given); checkpoints name the layer's tensors by it.</summary>
    public string? Name { get; set; }
    /// <summary>The layer (or "input", the model's input) this one reads, by name; the layer declared above it when not given.</summary>
    public string? Input { get; set; }
}

/// <summary>Keras's Dense: <c>units</c> outputs from a flat input.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class DenseAttribute(int units) : Attribute
{
    /// <summary>Outputs.</summary>
    public int Units { get; } = units;

    /// <summary>"linear" (default), an activation fused into the layer (see <see cref="ActivationAttribute"/>), or "softmax" on the output layer.</summary>
    public string Activation { get; set; } = LayerDefaults.Activation;

    /// <summary>Whether the layer adds a bias (Keras's default: it does).</summary>
    public bool UseBias { get; set; } = true;
    /// <summary>How the kernel starts, by Keras's name ("glorot_uniform" by default, "he_normal", "random_normal(0, 0.05)", ...).</summary>
    public string KernelInitializer { get; set; } = LayerDefaults.KernelInitializer;
    /// <summary>How the bias starts, by Keras's name ("zeros" by default).</summary>
    public string BiasInitializer { get; set; } = LayerDefaults.BiasInitializer;
    /// <summary>A penalty on the kernel added to the loss: "l1(0.01)", "l2(0.01)" or "l1_l2(0.01, 0.01)"; none when not given.</summary>
    public string? KernelRegularizer { get; set; }
    /// <summary>A penalty on the bias added to the loss, as <c>KernelRegularizer</c>'s.</summary>
    public string? BiasRegularizer { get; set; }
    /// <summary>A constraint applied to the kernel after every update: "non_neg", "max_norm(2)", "unit_norm", "min_max_norm(0, 1)" (each with an optional axis=[...]).</summary>
    public string? KernelConstraint { get; set; }
    /// <summary>A constraint applied to the bias after every update, as <c>KernelConstraint</c>'s.</summary>
    public string? BiasConstraint { get; set; }
    /// <summary>The layer's name (Keras's automatic one, such as "dense" or "dense_1", when not given); checkpoints name the layer's tensors by it.</summary>
    public string? Name { get; set; }
    /// <summary>The layer (or "input", the model's input) this one reads, by name; the layer declared above it when not given.</summary>
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
    /// <summary>How alpha starts, by Keras's name ("zeros" by default, Keras's; "constant(0.25)", the paper's).</summary>
    public string AlphaInitializer { get; set; } = LayerDefaults.AlphaInitializer;
    /// <summary>A penalty on alpha added to the loss ("l2(0.01)", ...); none when not given.</summary>
    public string? AlphaRegularizer { get; set; }
    /// <summary>A constraint applied to alpha after every update ("non_neg", "max_norm(2)", ...).</summary>
    public string? AlphaConstraint { get; set; }
    /// <summary>The axes (1-based, the batch being 0) along which one alpha is shared: none, one per element; [1, 2] on a map, one per channel.</summary>
    public int[] SharedAxes { get; set; } = [];
    /// <summary>The layer's name (Keras's automatic one, such as "dense" or "dense_1", when not given); checkpoints name the layer's tensors by it.</summary>
    public string? Name { get; set; }
    /// <summary>The layer (or "input", the model's input) this one reads, by name; the layer declared above it when not given.</summary>
    public string? Input { get; set; }
}

/// <summary>Keras's ReLU layer.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class ReLUAttribute : Attribute
{
    /// <summary>The layer's name (Keras's automatic one, such as "dense" or "dense_1", when not given); checkpoints name the layer's tensors by it.</summary>
    public string? Name { get; set; }
    /// <summary>The layer (or "input", the model's input) this one reads, by name; the layer declared above it when not given.</summary>
    public string? Input { get; set; }
}

/// <summary>Keras's LeakyReLU layer: f(x) = x for x &gt; 0, alpha * x otherwise (Keras's default alpha 0.3).</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class LeakyReLUAttribute : Attribute
{
    /// <summary>The slope below zero (Keras's default 0.3).</summary>
    public double Alpha { get; set; } = LayerDefaults.LeakyReLUSlope;
    /// <summary>The layer's name (Keras's automatic one, such as "dense" or "dense_1", when not given); checkpoints name the layer's tensors by it.</summary>
    public string? Name { get; set; }
    /// <summary>The layer (or "input", the model's input) this one reads, by name; the layer declared above it when not given.</summary>
    public string? Input { get; set; }
}

/// <summary>Keras's ELU layer: f(x) = x for x &gt; 0, alpha (e^x - 1) otherwise (alpha 1.0 by default).</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class ELUAttribute : Attribute
{
    /// <summary>The scale of the negative part (Keras's default 1.0).</summary>
    public double Alpha { get; set; } = LayerDefaults.EluAlpha;
    /// <summary>The layer's name (Keras's automatic one, such as "dense" or "dense_1", when not given); checkpoints name the layer's tensors by it.</summary>
    public string? Name { get; set; }
    /// <summary>The layer (or "input", the model's input) this one reads, by name; the layer declared above it when not given.</summary>
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
    /// <summary>The activation by Keras's name.</summary>
    public string Activation { get; } = activation;
    /// <summary>The layer's name (Keras's automatic one, such as "dense" or "dense_1", when not given); checkpoints name the layer's tensors by it.</summary>
    public string? Name { get; set; }
    /// <summary>The layer (or "input", the model's input) this one reads, by name; the layer declared above it when not given.</summary>
    public string? Input { get; set; }
}

/// <summary>Keras's Add: the element-wise sum of layers of one shape, named in order.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class AddAttribute(params string[] inputs) : Attribute
{
    /// <summary>The layers added, by name ("input" for the model's input); two or more.</summary>
    public string[] Inputs { get; } = inputs;

    /// <summary>The layer's name (Keras's automatic one, such as "dense" or "dense_1", when not given); checkpoints name the layer's tensors by it.</summary>
    public string? Name { get; set; }
}

/// <summary>Keras's Multiply: the element-wise product of layers of one shape.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class MultiplyAttribute(params string[] inputs) : Attribute
{
    /// <summary>The layers merged, by name ("input" for the model's input), in order; two or more.</summary>
    public string[] Inputs { get; } = inputs;
    /// <summary>The layer's name (Keras's automatic one, such as "dense" or "dense_1", when not given); checkpoints name the layer's tensors by it.</summary>
    public string? Name { get; set; }
}

/// <summary>Keras's Average: the element-wise mean of layers of one shape.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class AverageAttribute(params string[] inputs) : Attribute
{
    /// <summary>The layers merged, by name ("input" for the model's input), in order; two or more.</summary>
    public string[] Inputs { get; } = inputs;
    /// <summary>The layer's name (Keras's automatic one, such as "dense" or "dense_1", when not given); checkpoints name the layer's tensors by it.</summary>
    public string? Name { get; set; }
}

/// <summary>Keras's Maximum: the element-wise maximum of layers of one shape (on a tie the gradient goes to the first).</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class MaximumAttribute(params string[] inputs) : Attribute
{
    /// <summary>The layers merged, by name ("input" for the model's input), in order; two or more.</summary>
    public string[] Inputs { get; } = inputs;
    /// <summary>The layer's name (Keras's automatic one, such as "dense" or "dense_1", when not given); checkpoints name the layer's tensors by it.</summary>
    public string? Name { get; set; }
}

/// <summary>
/// Keras's Concatenate: layers joined along <see cref="Axis"/> (counted as Keras counts it, the batch being axis 0;
/// -1, the channels of a map, by default), their other sizes equal.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class ConcatenateAttribute(params string[] inputs) : Attribute
{
    /// <summary>The layers merged, by name ("input" for the model's input), in order; two or more.</summary>
    public string[] Inputs { get; } = inputs;
    /// <summary>The axis joined along, counted as Keras counts it (the batch is axis 0; -1, the last, by default).</summary>
    public int Axis { get; set; } = LayerDefaults.ConcatenateAxis;
    /// <summary>The layer's name (Keras's automatic one, such as "dense" or "dense_1", when not given); checkpoints name the layer's tensors by it.</summary>
    public string? Name { get; set; }
}
