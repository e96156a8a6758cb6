using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using Prelu.Generators.Diagnostics;
using Prelu.Generators.Model;
using Prelu.Generators.Shared;

namespace Prelu.Generators;

// The model's checks: names, the wiring of the graph (each layer's inputs by name, none declared below its reader,
// none that leads nowhere), shape inference and every mistake a user can make, each a diagnostic. Planning (fusion,
// parameters, buffers, gradient routing) is ModelGenerator.Plan.cs. Plain values in, plain values out; no Roslyn
// symbols, so it is cached and easy to test.
public sealed partial class ModelGenerator
{
    internal static BuildResult Build(ParseResult parsed, CancellationToken cancellationToken)
    {
        if (parsed.Spec is not { } spec)
            return new BuildResult(null, parsed.Diagnostics);
        cancellationToken.ThrowIfCancellationRequested();
        var diagnostics = new List<DiagnosticInfo>();

        if (spec.InputShape.Count is not (1 or 3) || spec.InputShape.Any(d => d < 1))
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.BadInputShape, spec.InputShapeLocation ?? spec.Location,
                string.Join(", ", spec.InputShape), spec.ClassName));
            return new BuildResult(null, diagnostics.ToEquatableArray());
        }
        if (spec.Layers.Count == 0)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.NoLayers, spec.Location, spec.ClassName));
            return new BuildResult(null, diagnostics.ToEquatableArray());
        }

        var nodes = spec.Layers.Select((layer, i) => new Node(i, layer)).ToList();
        AssignNames(nodes, diagnostics);
        if (diagnostics.Count == 0)
            Wire(nodes, diagnostics);
        if (diagnostics.Count == 0)
            FindDeadLayers(nodes, diagnostics);
        if (diagnostics.Count > 0)
            return new BuildResult(null, diagnostics.ToEquatableArray()); // shapes follow the wiring: nothing more to say

        bool placed = InferShapes(spec, nodes, diagnostics);
        var loss = ResolveLoss(spec, diagnostics);
        if (loss is { } known)
            CheckOutput(spec, known, nodes, diagnostics);
        if (diagnostics.Count > 0 || !placed || loss is null)
            return new BuildResult(null, diagnostics.ToEquatableArray());

        cancellationToken.ThrowIfCancellationRequested();
        var plan = PlanModel(spec, nodes, loss.Value);
        return new BuildResult(plan, diagnostics.ToEquatableArray());
    }

    /// <summary>
    /// A layer of the graph as Build checks it: its declaration, name, the layers it reads (<see cref="ModelInput"/>
    /// for the model's input, in the order written), the layers that read it, and its output shape (one sample).
    /// Build's and Plan's working state, never part of a cached record.
    /// </summary>
    private sealed class Node(int index, LayerSpec layer)
    {
        public int Index { get; } = index;
        public LayerSpec Layer { get; } = layer;
        public string Name { get; set; } = "";
        public int[] Inputs { get; set; } = Array.Empty<int>();
        public List<int> Readers { get; } = new();
        public int[]? Shape { get; set; }
        public LocationInfo? Location => Layer.Location;
    }

    /// <summary>The node index that stands for the model's input among a layer's inputs.</summary>
    private const int ModelInput = -1;

    // Keras's automatic names: the type in snake case, then _1, _2, ... for later layers of that type.
    private static readonly Dictionary<LayerKind, string> KerasNames = new()
    {
        [LayerKind.Conv2D] = "conv2d",
        [LayerKind.DepthwiseConv2D] = "depthwise_conv2d",
        [LayerKind.MaxPooling2D] = "max_pooling2d",
        [LayerKind.AveragePooling2D] = "average_pooling2d",
        [LayerKind.GlobalAveragePooling2D] = "global_average_pooling2d",
        [LayerKind.GlobalMaxPooling2D] = "global_max_pooling2d",
        [LayerKind.BatchNormalization] = "batch_normalization",
        [LayerKind.Normalization] = "normalization",
        [LayerKind.Dropout] = "dropout",
        [LayerKind.Flatten] = "flatten",
        [LayerKind.Dense] = "dense",
        [LayerKind.PReLU] = "p_re_lu",
        [LayerKind.ReLU] = "re_lu",
        [LayerKind.LeakyReLU] = "leaky_re_lu",
        [LayerKind.ELU] = "elu",
        [LayerKind.Activation] = "activation",
        [LayerKind.Add] = "add",
        [LayerKind.Multiply] = "multiply",
        [LayerKind.Average] = "average",
        [LayerKind.Maximum] = "maximum",
        [LayerKind.Concatenate] = "concatenate",
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

    private static void AssignNames(List<Node> nodes, List<DiagnosticInfo> diagnostics)
    {
        var counts = new Dictionary<LayerKind, int>();
        var firstUse = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var node in nodes)
        {
            var layer = node.Layer;
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
            if (name == LayerDefaults.ModelInput)
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidArgument, layer.Location, name,
                    $"the name '{LayerDefaults.ModelInput}' stands for the model's input; give the layer another"));
            else if (firstUse.TryGetValue(name, out int first))
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.DuplicateLayerName, layer.Location, name, first + 1, node.Index + 1));
            else
                firstUse[name] = node.Index;
            node.Name = name;
        }
    }

    // Each layer's inputs by name: a merge's list, a layer's Input, or else the layer declared above it (the model's
    // input for the first). A name must be the model's input or a layer declared above the reader.
    private static void Wire(List<Node> nodes, List<DiagnosticInfo> diagnostics)
    {
        var byName = nodes.ToDictionary(n => n.Name, StringComparer.Ordinal);
        foreach (var node in nodes)
        {
            var layer = node.Layer;
            bool merge = layer is MergeSpec or ConcatenateSpec;
            if (merge && layer.Inputs.Count < 2)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidArgument, layer.Location, node.Name,
                    $"{layer.Kind} needs at least two layers to merge, named in order; it names {layer.Inputs.Count}"));
                continue;
            }
            if (layer.Inputs.Count == 0)
            {
                node.Inputs = new[] { node.Index - 1 }; // the layer above, or the model's input (-1) for the first
                continue;
            }
            var inputs = new List<int>();
            foreach (string name in layer.Inputs)
            {
                if (name == LayerDefaults.ModelInput)
                {
                    inputs.Add(ModelInput);
                }
                else if (!byName.TryGetValue(name, out var source))
                {
                    var known = nodes.Where(n => n.Index < node.Index).Select(n => $"'{n.Name}'").Prepend($"'{LayerDefaults.ModelInput}'");
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.UnknownLayerInput, layer.Location, node.Name, name,
                        string.Join(", ", known)));
                }
                else if (source.Index >= node.Index)
                {
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InputNotDeclaredAbove, layer.Location, node.Name, name,
                        source.Index == node.Index ? "is the layer itself" : $"is declared below it (layer {source.Index + 1}; this is layer {node.Index + 1})"));
                }
                else
                {
                    inputs.Add(source.Index);
                }
            }
            node.Inputs = inputs.ToArray();
        }
        foreach (var node in nodes)
        {
            foreach (int input in node.Inputs.Where(i => i != ModelInput))
                nodes[input].Readers.Add(node.Index);
        }
    }

    // The output is the last layer; a layer from which it cannot be reached computes nothing the model returns.
    private static void FindDeadLayers(List<Node> nodes, List<DiagnosticInfo> diagnostics)
    {
        var live = new bool[nodes.Count];
        live[nodes.Count - 1] = true;
        for (int i = nodes.Count - 1; i >= 0; i--)
        {
            if (!live[i])
                continue;
            foreach (int input in nodes[i].Inputs.Where(input => input != ModelInput))
                live[input] = true;
        }
        var output = nodes[nodes.Count - 1];
        foreach (var node in nodes.Where(n => !live[n.Index]))
        {
            string readers = node.Readers.Count == 0 ? "no layer reads it" : $"it is read only by {string.Join(", ", node.Readers.Select(r => $"'{nodes[r].Name}'"))}, which lead nowhere either";
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.DeadLayer, node.Location, node.Name, readers, output.Name));
        }
    }

    /// <summary>Each layer's output shape (one sample) into its node; false when a layer cannot be placed.</summary>
    private static bool InferShapes(ModelSpec spec, List<Node> nodes, List<DiagnosticInfo> diagnostics)
    {
        bool placed = true;
        long parameterFloats = 0, activationFloats = Elements(spec.InputShape);
        int last = nodes.Count - 1;
        foreach (var node in nodes)
        {
            var inputShapes = node.Inputs.Select(i => i == ModelInput ? spec.InputShape.ToArray() : nodes[i].Shape).ToArray();
            if (inputShapes.Any(shape => shape is null))
            {
                placed = false; // an input could not be placed: its own diagnostic says why
                continue;
            }
            int[] shape = inputShapes[0]!;
            var layer = node.Layer;
            string name = node.Name;
            int errorsBefore = diagnostics.Count;
            void Fail(Microsoft.CodeAnalysis.DiagnosticDescriptor descriptor, params object[] args) =>
                diagnostics.Add(DiagnosticInfo.Create(descriptor, layer.Location, args));
            void Argument(string problem) => Fail(DiagnosticDescriptors.InvalidArgument, name, problem);
            void WrongRank(string needs, string hint) => Fail(DiagnosticDescriptors.WrongInputRank, name, layer.Kind, needs, Dims(shape), hint);

            int[] output = shape;
            switch (layer)
            {
                case Conv2DSpec conv:
                    if (shape.Length != 3)
                    {
                        WrongRank("a (height, width, channels) map", "; Conv2D cannot follow Flatten or Dense");
                        break;
                    }
                    if (conv.Filters < 1)
                        Argument($"filters is {conv.Filters}; a convolution needs at least 1 filter");
                    output = Convolved(conv, name, shape, conv.KernelSize, conv.Strides, conv.Padding, conv.Filters, "kernel", diagnostics) ?? output;
                    break;
                case DepthwiseConv2DSpec depthwise:
                    if (shape.Length != 3)
                    {
                        WrongRank("a (height, width, channels) map", "; DepthwiseConv2D cannot follow Flatten or Dense");
                        break;
                    }
                    if (depthwise.DepthMultiplier < 1)
                        Argument($"depth_multiplier is {depthwise.DepthMultiplier}; each channel needs at least 1 kernel");
                    output = Convolved(depthwise, name, shape, depthwise.KernelSize, depthwise.Strides, depthwise.Padding,
                        (int)Math.Min((long)shape[2] * Math.Max(depthwise.DepthMultiplier, 1), int.MaxValue), "depthwise", diagnostics) ?? output;
                    break;
                case Pooling2DSpec pooling:
                {
                    if (shape.Length != 3)
                    {
                        WrongRank("a (height, width, channels) map", $"; {layer.Kind} cannot follow Flatten or Dense");
                        break;
                    }
                    var pool = Pair(pooling.PoolSize, "pool_size", Argument);
                    var strides = pooling.Strides.Count == 0 ? pool : Pair(pooling.Strides, "strides", Argument);
                    bool same = Padding(pooling.Padding, layer, name, diagnostics);
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
                case GlobalPooling2DSpec:
                    if (shape.Length != 3)
                    {
                        WrongRank("a (height, width, channels) map", $"; {layer.Kind} cannot follow Flatten or Dense");
                        break;
                    }
                    output = new[] { shape[2] };
                    break;
                case NormalizationSpec normalization:
                    if (normalization.Axis != -1 && normalization.Axis != shape.Length)
                        Argument($"axis is {normalization.Axis}; Normalization is supported over the last axis (-1, the features)");
                    if (node.Inputs[0] != ModelInput)
                        Argument("it reads a layer; Normalization reads the model's input (Input = \"input\"), whose statistics Adapt computes from the data");
                    break;
                case BatchNormalizationSpec norm:
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
                case DropoutSpec dropout:
                    if (!(dropout.Rate >= 0 && dropout.Rate < 1))
                        Argument($"rate is {dropout.Rate.ToString(CultureInfo.InvariantCulture)}; it must be at least 0 and below 1");
                    break;
                case FlattenSpec:
                    output = new[] { (int)Math.Min(Elements(shape), int.MaxValue) }; // too large: reported below
                    break;
                case DenseSpec dense:
                    if (shape.Length != 1)
                    {
                        WrongRank("a flat (features) input", "; put [Flatten] before it");
                        break;
                    }
                    if (dense.Units < 1)
                        Argument($"units is {dense.Units}; a dense layer needs at least 1 unit");
                    CheckActivation(dense.Activation, layer, name, diagnostics, isLast: node.Index == last, allowSoftmax: true);
                    CheckWeights(dense.Weights, layer, name, diagnostics, "kernel", kernelRank: 2);
                    output = new[] { dense.Units };
                    break;
                case PReluSpec prelu:
                    foreach (int axis in prelu.SharedAxes)
                    {
                        if (axis < 1 || axis > shape.Length)
                            Fail(DiagnosticDescriptors.SharedAxisOutOfRange, name, axis, shape.Length, Dims(shape));
                    }
                    if (prelu.SharedAxes.Distinct().Count() != prelu.SharedAxes.Count)
                        Argument($"shared_axes [{string.Join(", ", prelu.SharedAxes)}] lists an axis twice");
                    CheckTensor(layer, name, "alpha", prelu.AlphaInitializer, prelu.AlphaRegularizer, prelu.AlphaConstraint, shape.Length, diagnostics);
                    break;
                case ActivationLayerSpec activation:
                    if (activation.Constant is { } constant && (double.IsNaN(constant) || double.IsInfinity(constant)))
                        Argument("alpha must be a finite number");
                    // Softmax is fused with the loss: on the last layer only, after a Dense layer without an activation (CheckOutput).
                    if (layer.Kind == LayerKind.Activation)
                        CheckActivation(activation.Activation, layer, name, diagnostics, isLast: node.Index == last, allowSoftmax: true);
                    break;
                case MergeSpec:
                    for (int i = 1; i < inputShapes.Length; i++)
                    {
                        if (!inputShapes[i]!.SequenceEqual(shape))
                        {
                            Fail(DiagnosticDescriptors.MergeShapesDiffer, name, layer.Kind, "of one shape", InputName(nodes, node.Inputs[0]), Dims(shape),
                                InputName(nodes, node.Inputs[i]), Dims(inputShapes[i]!));
                            break;
                        }
                    }
                    break;
                case ConcatenateSpec concatenate:
                {
                    int rank = shape.Length;
                    int axis = concatenate.Axis < 0 ? rank + 1 + concatenate.Axis : concatenate.Axis; // Keras counts the batch as axis 0
                    if (axis < 1 || axis > rank)
                    {
                        Argument($"axis {concatenate.Axis} is not an axis of its inputs of shape (batch, {Dims(shape)}); use 1..{rank} or -{rank}..-1 (the batch, axis 0, cannot be joined)");
                        break;
                    }
                    for (int i = 1; i < inputShapes.Length; i++)
                    {
                        var other = inputShapes[i]!;
                        if (other.Length != rank || Enumerable.Range(0, rank).Any(d => d != axis - 1 && other[d] != shape[d]))
                        {
                            Fail(DiagnosticDescriptors.MergeShapesDiffer, name, layer.Kind, $"whose sizes agree on every axis but axis {concatenate.Axis}",
                                InputName(nodes, node.Inputs[0]), Dims(shape), InputName(nodes, node.Inputs[i]), Dims(other));
                            break;
                        }
                    }
                    if (diagnostics.Count > errorsBefore)
                        break;
                    output = shape.ToArray();
                    output[axis - 1] = (int)Math.Min(inputShapes.Sum(s => (long)s![axis - 1]), int.MaxValue);
                    break;
                }
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
                    return false; // every later size would follow from this one
                continue;
            }
            node.Shape = output;
        }
        if (placed && parameterFloats > MaxFloats)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.TooLarge, spec.Location, $"Model '{spec.ClassName}'",
                "its parameter arena", Count(parameterFloats), Count(MaxFloats)));
            return false;
        }
        if (placed && activationFloats > MaxFloats)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.TooLarge, spec.Location, $"Model '{spec.ClassName}'",
                "the activations of one sample (about)", Count(activationFloats), Count(MaxFloats)));
            return false;
        }
        return placed;
    }

    // A convolution's output (height, width, channels) over a map, after its arguments' checks; null when one failed
    // (each reported).
    private static int[]? Convolved(WeightedLayerSpec layer, string name, int[] shape, EquatableArray<int> kernelSize, EquatableArray<int> stridesGiven,
        string padding, int channels, string kernelRole, List<DiagnosticInfo> diagnostics)
    {
        int errorsBefore = diagnostics.Count;
        void Argument(string problem) => diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidArgument, layer.Location, name, problem));
        var kernel = Pair(kernelSize, "kernel_size", Argument);
        var strides = Pair(stridesGiven, "strides", Argument);
        bool same = Padding(padding, layer, name, diagnostics);
        CheckActivation(layer.Activation, layer, name, diagnostics, isLast: false, allowSoftmax: false);
        CheckWeights(layer.Weights, layer, name, diagnostics, kernelRole, kernelRank: 4);
        if (kernel is null || strides is null || diagnostics.Count > errorsBefore)
            return null;
        int oh = OutSize(shape[0], kernel.Value.A, strides.Value.A, same);
        int ow = OutSize(shape[1], kernel.Value.B, strides.Value.B, same);
        if (oh < 1 || ow < 1)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.LayerDoesNotFit, layer.Location, name,
                $"a {kernel.Value.A}x{kernel.Value.B} kernel does not fit its {shape[0]}x{shape[1]} input with 'valid' padding"));
            return null;
        }
        return new[] { oh, ow, channels };
    }

    private static string InputName(List<Node> nodes, int input) => input == ModelInput ? LayerDefaults.ModelInput : nodes[input].Name;

    /// <summary>The most floats one buffer holds: .NET's largest array (Array.MaxLength), and so every backend's.</summary>
    private const long MaxFloats = 0x7FFFFFC7;

    private static long Elements(IEnumerable<int> shape) => shape.Aggregate(1L, (a, b) => a * b);

    private static string Count(long floats) => floats.ToString("N0", CultureInfo.InvariantCulture);

    // A placed layer's tensors and their sizes: its output (one sample), and its kernel, bias or alphas.
    private static IEnumerable<(string What, long Floats)> Tensors(LayerSpec layer, int[] input, int[] output)
    {
        yield return ("its output", layer is FlattenSpec ? Elements(input) : Elements(output)); // Flatten's was clamped
        switch (layer)
        {
            case Conv2DSpec conv:
                yield return ("its kernel", (long)HeightWidth(conv.KernelSize).Height * HeightWidth(conv.KernelSize).Width * input[2] * conv.Filters);
                if (conv.Weights.UseBias)
                    yield return ("its bias", conv.Filters);
                break;
            case DepthwiseConv2DSpec depthwise:
                yield return ("its kernel", (long)HeightWidth(depthwise.KernelSize).Height * HeightWidth(depthwise.KernelSize).Width * input[2] *
                    depthwise.DepthMultiplier);
                if (depthwise.Weights.UseBias)
                    yield return ("its bias", output[2]);
                break;
            case DenseSpec dense:
                yield return ("its kernel", (long)input[0] * dense.Units);
                if (dense.Weights.UseBias)
                    yield return ("its bias", dense.Units);
                break;
            case PReluSpec prelu:
                yield return ("its alphas", Enumerable.Range(1, input.Length).Where(axis => !prelu.SharedAxes.Contains(axis)).Aggregate(1L, (a, axis) => a * input[axis - 1]));
                break;
            case NormalizationSpec:
                yield return ("its statistics", 2L * input[input.Length - 1] + 1);
                break;
            case BatchNormalizationSpec:
                yield return ("its statistics", 4L * input[input.Length - 1]);
                break;
        }
    }

    // The class's [Loss], categorical cross-entropy without one; null once a diagnostic says why it cannot be used.
    private static LossFunction? ResolveLoss(ModelSpec spec, List<DiagnosticInfo> diagnostics)
    {
        if (spec.Loss is not { } declared)
            return LossFunction.CategoricalCrossentropy;
        var loss = LossFunction.FromKerasName(declared.Name, (float)declared.Delta);
        string? problem = loss is not { } known
            ? $"'{declared.Name}' is not a loss; Keras's names are {LossFunction.KerasNames}"
            : known.Kind == LossKind.Huber && !(declared.Delta > 0 && declared.Delta <= float.MaxValue)
                ? $"Huber's Delta must be a positive number; it is {declared.Delta.ToString(CultureInfo.InvariantCulture)}"
                : known.Kind != LossKind.Huber && declared.Delta != 1.0
                    ? $"Delta is Huber's; {known.KerasName} takes none"
                    : null;
        if (problem is null)
            return loss;
        diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.BadLoss, declared.Location ?? spec.Location, spec.ClassName, problem));
        return null;
    }

    // The output layer must fit the loss. The categorical cross-entropies read logits and compute the softmax themselves:
    // the last layer is a Dense layer with softmax, or an Activation("softmax") that reads a Dense layer without an
    // activation. Binary cross-entropy does the same with a sigmoid per output. The regression losses read any output
    // but a softmax (which only the cross-entropies compute).
    private static void CheckOutput(ModelSpec spec, LossFunction loss, List<Node> nodes, List<DiagnosticInfo> diagnostics)
    {
        var last = nodes[nodes.Count - 1];
        bool ReadsLinearDense(Node node, int minUnits) => node.Inputs[0] != ModelInput &&
            nodes[node.Inputs[0]].Layer is DenseSpec { Activation: "linear" } dense && dense.Units >= minUnits;
        bool Ends(string activation, int minUnits) => last.Layer switch
        {
            DenseSpec dense => dense.Units >= minUnits && dense.Activation == activation,
            ActivationLayerSpec { Kind: LayerKind.Activation } layer => layer.Activation == activation && ReadsLinearDense(last, minUnits),
            _ => false,
        };
        string what = last.Layer is DenseSpec d ? $"Dense({d.Units}) with activation '{d.Activation}'" : $"{last.Layer.Kind} '{last.Name}'";
        var where = last.Location ?? spec.Location;
        switch (loss.Kind)
        {
            case LossKind.CategoricalCrossentropy or LossKind.SparseCategoricalCrossentropy:
                if (!Ends("softmax", 2))
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.OutputCannotFeedCrossEntropy, where, spec.ClassName, what, loss.KerasName));
                break;
            case LossKind.BinaryCrossentropy:
                if (!Ends("sigmoid", 1))
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.OutputCannotFeedBinaryCrossEntropy, where, spec.ClassName, what));
                break;
            default:
                if (last.Layer is WeightedLayerSpec { Activation: "softmax" } or ActivationLayerSpec { Kind: LayerKind.Activation, Activation: "softmax" })
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.SoftmaxWithoutCrossEntropy, where, spec.ClassName, loss.KerasName));
                break;
        }
    }

    /// <summary>The activation of the output layer that the loss computes from the logits (softmax, sigmoid), or null.</summary>
    private static string? ActivationOfTheLoss(LossFunction loss) => loss.Kind switch
    {
        LossKind.CategoricalCrossentropy or LossKind.SparseCategoricalCrossentropy => "softmax",
        LossKind.BinaryCrossentropy => "sigmoid",
        _ => null,
    };

    /// <summary>Keras's one size or two, as (height, width): one size is both. The one place the expansion is written.</summary>
    private static (int Height, int Width) HeightWidth(EquatableArray<int> values) => (values[0], values.Count == 2 ? values[1] : values[0]);

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
        return HeightWidth(values);
    }

    private static bool Padding(string padding, LayerSpec layer, string name, List<DiagnosticInfo> diagnostics)
    {
        if (padding is not ("valid" or "same"))
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.UnknownPadding, layer.Location, name, padding));
        return padding == "same";
    }

    private static void CheckActivation(string activation, LayerSpec layer, string name, List<DiagnosticInfo> diagnostics, bool isLast, bool allowSoftmax)
    {
        if (ActivationNames.ContainsKey(activation))
            return;
        if (activation == "softmax" && allowSoftmax)
        {
            if (!isLast)
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.SoftmaxNotLast, layer.Location, name));
            return;
        }
        diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.UnknownActivation, layer.Location, name, activation,
            allowSoftmax ? ActivationList + ", or 'softmax' on the output layer" : ActivationList));
    }

    // The kernel's arguments are named as Keras names them: "kernel_initializer", or "depthwise_initializer" for DepthwiseConv2D.
    private static void CheckWeights(WeightsSpec weights, LayerSpec layer, string name, List<DiagnosticInfo> diagnostics, string kernelRole, int kernelRank)
    {
        CheckTensor(layer, name, kernelRole, weights.KernelInitializer, weights.KernelRegularizer, weights.KernelConstraint, kernelRank, diagnostics);
        if (weights.UseBias)
            CheckTensor(layer, name, "bias", weights.BiasInitializer, weights.BiasRegularizer, weights.BiasConstraint, 1, diagnostics);
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

    /// <summary>TensorFlow's output size, by the runtime's own formula (SpatialAxis, compiled into the generator too).</summary>
    private static int OutSize(int input, int window, int stride, bool same) =>
        Shared.SpatialAxis.Resolve(input, window, stride, same ? Shared.Padding.Same : Shared.Padding.Valid).Output;

    private static string Dims(IEnumerable<int> shape) => string.Join(", ", shape);
}
