using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using Prelu.Generators.Diagnostics;
using Prelu.Generators.Model;
using Prelu.Models;

namespace Prelu.Generators;

// The model's checks: names, shape inference and every mistake a user can make, each a diagnostic. Planning
// (fusion, parameters, buffers) is ModelGenerator.Plan.cs. Plain values in, plain values out; no Roslyn
// symbols, so it is cached and easy to test.
public sealed partial class ModelGenerator
{
    internal static BuildResult Build(ParseResult parsed, CancellationToken cancellationToken)
    {
        if (parsed.Spec is not { } spec)
            return new BuildResult(null, parsed.Diagnostics);
        cancellationToken.ThrowIfCancellationRequested();
        var diagnostics = new List<DiagnosticInfo>();
        var layers = spec.Layers.ToList();

        if (spec.InputShape.Count is not (1 or 3) || spec.InputShape.Any(d => d < 1))
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.BadInputShape, spec.InputShapeLocation ?? spec.Location,
                string.Join(", ", spec.InputShape), spec.ClassName));
            return new BuildResult(null, diagnostics.ToEquatableArray());
        }
        if (layers.Count == 0)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.NoLayers, spec.Location, spec.ClassName));
            return new BuildResult(null, diagnostics.ToEquatableArray());
        }

        var names = AssignNames(layers, diagnostics);
        var shapes = InferShapes(spec, layers, names, diagnostics);
        CheckOutput(spec, layers, names, diagnostics);
        if (diagnostics.Count > 0 || shapes is null)
            return new BuildResult(null, diagnostics.ToEquatableArray());

        cancellationToken.ThrowIfCancellationRequested();
        var plan = PlanModel(spec, layers, names, shapes);
        return new BuildResult(plan, diagnostics.ToEquatableArray());
    }

    // Keras's automatic names: the type in snake case, then _1, _2, ... for later layers of that type.
    private static readonly Dictionary<LayerKind, string> KerasNames = new()
    {
        [LayerKind.Conv2D] = "conv2d",
        [LayerKind.MaxPooling2D] = "max_pooling2d",
        [LayerKind.AveragePooling2D] = "average_pooling2d",
        [LayerKind.GlobalAveragePooling2D] = "global_average_pooling2d",
        [LayerKind.GlobalMaxPooling2D] = "global_max_pooling2d",
        [LayerKind.BatchNormalization] = "batch_normalization",
        [LayerKind.Dropout] = "dropout",
        [LayerKind.Flatten] = "flatten",
        [LayerKind.Dense] = "dense",
        [LayerKind.PReLU] = "p_re_lu",
        [LayerKind.ReLU] = "re_lu",
        [LayerKind.LeakyReLU] = "leaky_re_lu",
        [LayerKind.ELU] = "elu",
        [LayerKind.Activation] = "activation",
    };

    /// <summary>Keras's activation names that a layer fuses, with the constant each implies (leaky_relu's slope, elu's alpha).</summary>
    internal static readonly Dictionary<string, (ActivationPlan Plan, double Parameter)> ActivationNames = new()
    {
        ["linear"] = (ActivationPlan.Linear, 0),
        ["relu"] = (ActivationPlan.Relu, 0),
        ["leaky_relu"] = (ActivationPlan.LeakyRelu, LayerDefaults.LeakyReluActivationSlope),
        ["sigmoid"] = (ActivationPlan.Sigmoid, 0),
        ["tanh"] = (ActivationPlan.Tanh, 0),
        ["elu"] = (ActivationPlan.Elu, LayerDefaults.EluAlpha),
        ["selu"] = (ActivationPlan.Selu, 0),
        ["gelu"] = (ActivationPlan.Gelu, 0),
        ["softplus"] = (ActivationPlan.Softplus, 0),
        ["swish"] = (ActivationPlan.Swish, 0),
        ["silu"] = (ActivationPlan.Swish, 0),
    };

    private static readonly string ActivationList = string.Join(", ", ActivationNames.Keys.Select(n => $"'{n}'"));

    private static List<string> AssignNames(List<LayerSpec> layers, List<DiagnosticInfo> diagnostics)
    {
        var counts = new Dictionary<LayerKind, int>();
        var names = new List<string>();
        var firstUse = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < layers.Count; i++)
        {
            var layer = layers[i];
            string name;
            if (layer.Name is { Length: > 0 } given)
            {
                name = given;
            }
            else
            {
                counts.TryGetValue(layer.Kind, out int count);
                counts[layer.Kind] = count + 1;
                name = count == 0 ? KerasNames[layer.Kind] : $"{KerasNames[layer.Kind]}_{count}";
            }
            if (firstUse.TryGetValue(name, out int first))
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.DuplicateLayerName, layer.Location, name, first + 1, i + 1));
            else
                firstUse[name] = i;
            names.Add(name);
        }
        return names;
    }

    /// <summary>Each layer's output shape (one sample), or null when a layer cannot be placed.</summary>
    private static List<int[]>? InferShapes(ModelSpec spec, List<LayerSpec> layers, List<string> names, List<DiagnosticInfo> diagnostics)
    {
        var shapes = new List<int[]>();
        int[] shape = spec.InputShape.ToArray();
        bool placed = true;
        long parameterFloats = 0, activationFloats = Elements(shape);
        for (int i = 0; i < layers.Count; i++)
        {
            var layer = layers[i];
            string name = names[i];
            int errorsBefore = diagnostics.Count;
            void Fail(Microsoft.CodeAnalysis.DiagnosticDescriptor descriptor, params object[] args) =>
                diagnostics.Add(DiagnosticInfo.Create(descriptor, layer.Location, args));
            void Argument(string problem) => Fail(DiagnosticDescriptors.InvalidArgument, name, problem);
            void WrongRank(string needs, string hint) => Fail(DiagnosticDescriptors.WrongInputRank, name, layer.Kind, needs, Dims(shape), hint);

            int[] output = shape;
            switch (layer.Kind)
            {
                case LayerKind.Conv2D:
                {
                    if (shape.Length != 3)
                    {
                        WrongRank("a (height, width, channels) map", "; Conv2D cannot follow Flatten or Dense");
                        break;
                    }
                    if (layer.Size < 1)
                        Argument($"filters is {layer.Size}; a convolution needs at least 1 filter");
                    var kernel = Pair(layer.Window, "kernel_size", Argument);
                    var strides = Pair(layer.Strides, "strides", Argument);
                    bool same = Padding(layer, name, diagnostics);
                    CheckActivation(layer, name, diagnostics, isLast: false, allowSoftmax: false);
                    CheckWeights(layer, name, diagnostics, kernelRank: 4);
                    if (kernel is null || strides is null || diagnostics.Count > errorsBefore)
                        break;
                    int oh = OutSize(shape[0], kernel.Value.A, strides.Value.A, same);
                    int ow = OutSize(shape[1], kernel.Value.B, strides.Value.B, same);
                    if (oh < 1 || ow < 1)
                    {
                        Fail(DiagnosticDescriptors.LayerDoesNotFit, name,
                            $"a {kernel.Value.A}x{kernel.Value.B} kernel does not fit its {shape[0]}x{shape[1]} input with 'valid' padding");
                        break;
                    }
                    output = new[] { oh, ow, layer.Size };
                    break;
                }
                case LayerKind.MaxPooling2D:
                case LayerKind.AveragePooling2D:
                {
                    if (shape.Length != 3)
                    {
                        WrongRank("a (height, width, channels) map", $"; {layer.Kind} cannot follow Flatten or Dense");
                        break;
                    }
                    var pool = Pair(layer.Window, "pool_size", Argument);
                    var strides = layer.Strides.Count == 0 ? pool : Pair(layer.Strides, "strides", Argument);
                    bool same = Padding(layer, name, diagnostics);
                    if (pool is null || strides is null || diagnostics.Count > errorsBefore)
                        break;
                    int oh = OutSize(shape[0], pool.Value.A, strides.Value.A, same);
                    int ow = OutSize(shape[1], pool.Value.B, strides.Value.B, same);
                    if (oh < 1 || ow < 1)
                    {
                        Fail(DiagnosticDescriptors.LayerDoesNotFit, name,
                            $"a {pool.Value.A}x{pool.Value.B} pool reduces its {shape[0]}x{shape[1]} input to nothing with 'valid' padding");
                        break;
                    }
                    output = new[] { oh, ow, shape[2] };
                    break;
                }
                case LayerKind.GlobalAveragePooling2D:
                case LayerKind.GlobalMaxPooling2D:
                    if (shape.Length != 3)
                    {
                        WrongRank("a (height, width, channels) map", $"; {layer.Kind} cannot follow Flatten or Dense");
                        break;
                    }
                    output = new[] { shape[2] };
                    break;
                case LayerKind.BatchNormalization:
                {
                    var norm = layer.Normalization;
                    if (norm.Axis != -1 && norm.Axis != shape.Length)
                        Fail(DiagnosticDescriptors.UnsupportedNormalizationAxis, name, norm.Axis, Dims(shape));
                    if (!(norm.Momentum >= 0 && norm.Momentum <= 1))
                        Argument($"momentum is {norm.Momentum.ToString(CultureInfo.InvariantCulture)}; it must be in [0, 1]");
                    if (!(norm.Epsilon > 0) || double.IsInfinity(norm.Epsilon))
                        Argument($"epsilon is {norm.Epsilon.ToString(CultureInfo.InvariantCulture)}; it must be a positive number");
                    CheckTensor(layer, name, "moving_mean", norm.MovingMeanInitializer, null, null, 1, diagnostics);
                    CheckTensor(layer, name, "moving_variance", norm.MovingVarianceInitializer, null, null, 1, diagnostics);
                    if (norm.Scale)
                        CheckTensor(layer, name, "gamma", norm.GammaInitializer, norm.GammaRegularizer, norm.GammaConstraint, 1, diagnostics);
                    if (norm.Center)
                        CheckTensor(layer, name, "beta", norm.BetaInitializer, norm.BetaRegularizer, norm.BetaConstraint, 1, diagnostics);
                    break;
                }
                case LayerKind.Dropout:
                    if (!(layer.Rate >= 0 && layer.Rate < 1))
                        Argument($"rate is {layer.Rate.ToString(CultureInfo.InvariantCulture)}; it must be at least 0 and below 1");
                    break;
                case LayerKind.Flatten:
                    output = new[] { (int)Math.Min(Elements(shape), int.MaxValue) }; // too large: reported below
                    break;
                case LayerKind.Dense:
                    if (shape.Length != 1)
                    {
                        WrongRank("a flat (features) input", "; put [Flatten] before it");
                        break;
                    }
                    if (layer.Size < 1)
                        Argument($"units is {layer.Size}; a dense layer needs at least 1 unit");
                    CheckActivation(layer, name, diagnostics, isLast: i == layers.Count - 1, allowSoftmax: true);
                    CheckWeights(layer, name, diagnostics, kernelRank: 2);
                    output = new[] { layer.Size };
                    break;
                case LayerKind.PReLU:
                    foreach (int axis in layer.SharedAxes)
                    {
                        if (axis < 1 || axis > shape.Length)
                            Fail(DiagnosticDescriptors.SharedAxisOutOfRange, name, axis, shape.Length, Dims(shape));
                    }
                    if (layer.SharedAxes.Distinct().Count() != layer.SharedAxes.Count)
                        Argument($"shared_axes [{string.Join(", ", layer.SharedAxes)}] lists an axis twice");
                    CheckTensor(layer, name, "alpha", layer.AlphaInitializer, layer.AlphaRegularizer, layer.AlphaConstraint, shape.Length, diagnostics);
                    break;
                case LayerKind.ReLU:
                    break;
                case LayerKind.LeakyReLU:
                case LayerKind.ELU:
                    if (double.IsNaN(layer.Rate) || double.IsInfinity(layer.Rate))
                        Argument("alpha must be a finite number");
                    break;
                case LayerKind.Activation:
                    // Softmax is fused with the loss: on the last layer only, after a Dense layer without an activation (CheckOutput).
                    CheckActivation(layer, name, diagnostics, isLast: i == layers.Count - 1, allowSoftmax: true);
                    break;
            }
            if (diagnostics.Count == errorsBefore)
            {
                // Sizes in 64 bits: a tensor past what an array holds is a diagnostic, not a negative constant.
                foreach (var (what, floats) in Tensors(layer, shape, output))
                {
                    if (floats > MaxFloats)
                        Fail(DiagnosticDescriptors.TooLarge, $"Layer '{name}'", what, Count(floats), Count(MaxFloats));
                    parameterFloats += what == "its output" ? 0 : Arena.Aligned(floats);
                }
                activationFloats += 4 * Elements(output); // the arena holds a few buffers per layer: a bound
            }
            if (diagnostics.Count > errorsBefore)
            {
                placed = false;
                if (diagnostics.Skip(errorsBefore).Any(d => d.Descriptor == DiagnosticDescriptors.TooLarge))
                    return null; // every later size would follow from this one
            }
            shape = output;
            shapes.Add(output);
        }
        if (placed && parameterFloats > MaxFloats)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.TooLarge, spec.Location, $"Model '{spec.ClassName}'",
                "its parameter arena", Count(parameterFloats), Count(MaxFloats)));
            return null;
        }
        if (placed && activationFloats > MaxFloats)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.TooLarge, spec.Location, $"Model '{spec.ClassName}'",
                "the activations of one sample (about)", Count(activationFloats), Count(MaxFloats)));
            return null;
        }
        return placed ? shapes : null;
    }

    /// <summary>The most floats one buffer holds: .NET's largest array (Array.MaxLength), and so every backend's.</summary>
    private const long MaxFloats = 0x7FFFFFC7;

    private static long Elements(IEnumerable<int> shape) => shape.Aggregate(1L, (a, b) => a * b);

    private static string Count(long floats) => floats.ToString("N0", CultureInfo.InvariantCulture);

    // A placed layer's tensors and their sizes: its output (one sample), and its kernel, bias or alphas.
    private static IEnumerable<(string What, long Floats)> Tensors(LayerSpec layer, int[] input, int[] output)
    {
        yield return ("its output", layer.Kind == LayerKind.Flatten ? Elements(input) : Elements(output)); // Flatten's was clamped
        switch (layer.Kind)
        {
            case LayerKind.Conv2D:
                yield return ("its kernel", (long)layer.Window[0] * (layer.Window.Count == 2 ? layer.Window[1] : layer.Window[0]) * input[2] * layer.Size);
                if (layer.UseBias)
                    yield return ("its bias", layer.Size);
                break;
            case LayerKind.Dense:
                yield return ("its kernel", (long)input[0] * layer.Size);
                if (layer.UseBias)
                    yield return ("its bias", layer.Size);
                break;
            case LayerKind.PReLU:
                yield return ("its alphas", Enumerable.Range(1, input.Length).Where(axis => !layer.SharedAxes.Contains(axis)).Aggregate(1L, (a, axis) => a * input[axis - 1]));
                break;
            case LayerKind.BatchNormalization:
                yield return ("its statistics", 4L * input[input.Length - 1]);
                break;
        }
    }

    private static void CheckOutput(ModelSpec spec, List<LayerSpec> layers, List<string> names, List<DiagnosticInfo> diagnostics)
    {
        var last = layers[layers.Count - 1];
        var logits = last.Kind == LayerKind.Activation && last.Activation == "softmax" && layers.Count > 1 ? layers[layers.Count - 2] : last;
        bool ok = logits.Kind == LayerKind.Dense && logits.Size >= 2 && (last.Activation == "softmax") && (logits == last || logits.Activation == "linear");
        if (!ok)
        {
            string what = last.Kind == LayerKind.Dense
                ? $"Dense({last.Size}) with activation '{last.Activation}'"
                : $"{last.Kind} '{names[layers.Count - 1]}'";
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.OutputCannotFeedCrossEntropy, last.Location ?? spec.Location, spec.ClassName, what));
        }
    }

    private static (int A, int B)? Pair(EquatableArray<int> values, string what, Action<string> fail)
    {
        if (values.Count is not (1 or 2))
        {
            fail($"{what} needs one size or two (height, width); got {values.Count}");
            return null;
        }
        if (values.Any(v => v < 1))
        {
            fail($"{what} ({string.Join(", ", values)}) must be at least 1");
            return null;
        }
        return (values[0], values.Count == 2 ? values[1] : values[0]);
    }

    private static bool Padding(LayerSpec layer, string name, List<DiagnosticInfo> diagnostics)
    {
        if (layer.Padding is not ("valid" or "same"))
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.UnknownPadding, layer.Location, name, layer.Padding));
        return layer.Padding == "same";
    }

    private static void CheckActivation(LayerSpec layer, string name, List<DiagnosticInfo> diagnostics, bool isLast, bool allowSoftmax)
    {
        if (ActivationNames.ContainsKey(layer.Activation))
            return;
        if (layer.Activation == "softmax" && allowSoftmax)
        {
            if (!isLast)
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.SoftmaxNotLast, layer.Location, name));
            return;
        }
        diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.UnknownActivation, layer.Location, name, layer.Activation,
            allowSoftmax ? ActivationList + ", or 'softmax' on the output layer" : ActivationList));
    }

    private static void CheckWeights(LayerSpec layer, string name, List<DiagnosticInfo> diagnostics, int kernelRank)
    {
        CheckTensor(layer, name, "kernel", layer.KernelInitializer, layer.KernelRegularizer, layer.KernelConstraint, kernelRank, diagnostics);
        if (layer.UseBias)
            CheckTensor(layer, name, "bias", layer.BiasInitializer, layer.BiasRegularizer, layer.BiasConstraint, 1, diagnostics);
    }

    // A tensor's Keras strings, named as Keras names the arguments: "<role>_initializer", "<role>_regularizer", "<role>_constraint".
    private static void CheckTensor(LayerSpec layer, string name, string role, string initializer, string? regularizer, string? constraint, int rank,
        List<DiagnosticInfo> diagnostics)
    {
        CheckInitializer(name, role + "_initializer", initializer, layer.Location, diagnostics);
        CheckRegularizer(name, role + "_regularizer", regularizer, layer.Location, diagnostics);
        CheckConstraint(name, role + "_constraint", constraint, rank, layer.Location, diagnostics);
    }

    private static void CheckInitializer(string layer, string what, string text, LocationInfo? location, List<DiagnosticInfo> diagnostics)
    {
        if (KerasObjects.Initializer(text, out var error) is null)
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.UnknownInitializer, location, layer, what, text, error ?? ""));
    }

    private static void CheckRegularizer(string layer, string what, string? text, LocationInfo? location, List<DiagnosticInfo> diagnostics)
    {
        if (text is not null && KerasObjects.Regularizer(text, out var error) is null)
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.UnknownRegularizerOrConstraint, location, layer, what, text, error ?? ""));
    }

    private static void CheckConstraint(string layer, string what, string? text, int rank, LocationInfo? location, List<DiagnosticInfo> diagnostics)
    {
        if (text is not null && KerasObjects.Constraint(text, rank, out var error) is null)
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.UnknownRegularizerOrConstraint, location, layer, what, text, error ?? ""));
    }

    /// <summary>TensorFlow's output size: valid floor((in - window) / stride) + 1, same ceil(in / stride).</summary>
    private static int OutSize(int input, int window, int stride, bool same) =>
        same ? (input + stride - 1) / stride : input < window ? 0 : (input - window) / stride + 1;

    private static string Dims(IEnumerable<int> shape) => string.Join(", ", shape);
}
