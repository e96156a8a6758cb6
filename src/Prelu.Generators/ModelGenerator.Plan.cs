using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Prelu.Generators.Model;
using Prelu.Generators.Shared;

namespace Prelu.Generators;

// Planning a checked graph, completely, before anything is printed, the way compilers plan: the steps in topological
// order (the declaration order), which layers fuse into one kernel call (only where a producer has one reader), every
// parameter and state tensor's place in its arena, every activation buffer's place in the activation arena, which
// buffer each step's gradients go through in backward (a tensor read by several layers gets the sum of theirs, in a
// fixed order), and the gradient buffers' places by liveness.
public sealed partial class ModelGenerator
{
    /// <summary>Tensors laid out one after another in one arena, each at a multiple of <see cref="Arena.Alignment"/> floats.</summary>
    private sealed class TensorArena
    {
        private readonly List<ParameterPlan> _tensors = new();

        public int Length { get; private set; }

        public EquatableArray<ParameterPlan> Tensors => _tensors.ToEquatableArray();

        /// <summary>
        /// Places the tensor "layer.role" with its Keras strings (which Build has checked) read into specs, and
        /// returns the C# field that will hold its slice.
        /// </summary>
        public ParameterRef Add(string layer, string stem, string role, int[] shape, string initializer, string? regularizer = null, string? constraint = null)
        {
            string field = "_" + char.ToLowerInvariant(stem[0]) + stem.Substring(1) + Pascal(role);
            _tensors.Add(new ParameterPlan($"{layer}.{role}", field, field + "Grad", shape.ToEquatableArray(), Length, KerasObjects.Initializer(initializer, out _)!,
                regularizer is null ? null : KerasObjects.Regularizer(regularizer, out _),
                constraint is null ? null : KerasObjects.Constraint(constraint, shape.Length, out _)));
            Length += (int)Arena.Aligned(shape.Aggregate(1, (a, b) => a * b));
            return new ParameterRef(field, field + "Grad");
        }
    }

    /// <summary>
    /// The layers one kernel call runs: a head layer, and where the plan fuses them the activation layer after a
    /// convolution or dense layer, the max pooling after a convolution and the dropout after that pooling, or the
    /// BatchNormalization after a linear convolution and the activation after that. A layer joins its producer's call
    /// only when it is declared right after it and is its only reader, so that nothing else needs the intermediate tensor.
    /// </summary>
    private sealed class Group(Node head)
    {
        public Node Head { get; } = head;
        public Node? Normalization { get; set; }
        public Node? Activation { get; set; }
        public Node? Pooling { get; set; }
        public Node? Dropout { get; set; }
        public Node Last => Dropout ?? Pooling ?? Activation ?? Normalization ?? Head;
        public IEnumerable<Node> Nodes => new[] { Head, Normalization, Activation, Pooling, Dropout }.Where(n => n is not null)!;
        public string Label => string.Join(" + ", new[] { Head, Normalization, Activation }.Where(n => n is not null).Select(n => n!.Name));
        public bool NeedsGradient { get; set; }
        public int Index { get; set; }
    }

    /// <summary>A gradient buffer of backward, live from the step that first writes it to the step that last reads it (steps counted in backward order).</summary>
    private sealed class GradientBuffer(string field, int length, int start)
    {
        public string Field { get; } = field;
        public int Length { get; } = length;
        public int Start { get; } = start;
        public int End { get; set; } = start;
        public int Offset { get; set; }
    }

    private static ModelPlan PlanModel(ModelSpec spec, List<Node> nodes, LossFunction loss)
    {
        // The output layer whose activation the loss computes from the logits (a softmax, or binary cross-entropy's
        // sigmoid): its step leaves the activation out. -1 for a regression loss, which reads the output as it is.
        int activationOfTheLoss = ActivationOfTheLoss(loss) is null ? -1 : nodes.Count - 1;
        var stems = UniqueStems(nodes);
        var parameters = new TensorArena();
        var states = new TensorArena();
        var summary = new List<SummaryRow>();
        var configs = new List<LayerConfigPlan>();
        bool functional = nodes.Any(n => n.Layer is MergeSpec or ConcatenateSpec || !n.Inputs.SequenceEqual(new[] { n.Index - 1 }));
        if (functional)
            summary.Add(new SummaryRow(LayerDefaults.ModelInput, "InputLayer", OutputShape(spec.InputShape.ToArray()), 0, ""));

        // Every layer's tensors in declaration order (the order of the arenas, and so of initialisation and checkpoints).
        var kernels = new Dictionary<int, ParameterRef>();
        var biases = new Dictionary<int, ParameterRef>();
        var alphas = new Dictionary<int, ParameterRef>();
        var normalizations = new Dictionary<int, (ParameterRef? Gamma, ParameterRef? Beta, ParameterRef Mean, ParameterRef Variance)>();
        foreach (var node in nodes)
        {
            int[] input = InputShapeOf(spec, nodes, node);
            string name = node.Name, stem = stems[node.Index];
            int count = 0;
            switch (node.Layer)
            {
                case Conv2DSpec conv:
                {
                    var (kh, kw) = HeightWidth(conv.KernelSize);
                    kernels[node.Index] = Weights(conv.Weights, "kernel", new[] { kh, kw, input[2], conv.Filters }, conv.Filters);
                    break;
                }
                case DepthwiseConv2DSpec depthwise:
                {
                    var (kh, kw) = HeightWidth(depthwise.KernelSize);
                    kernels[node.Index] = Weights(depthwise.Weights, "depthwise_kernel", new[] { kh, kw, input[2], depthwise.DepthMultiplier }, node.Shape![2]);
                    break;
                }
                case DenseSpec dense:
                    kernels[node.Index] = Weights(dense.Weights, "kernel", new[] { input[0], dense.Units }, dense.Units);
                    break;
                case PReluSpec prelu:
                {
                    int[] alphaShape = input.Select((size, axis) => prelu.SharedAxes.Contains(axis + 1) ? 1 : size).ToArray();
                    alphas[node.Index] = parameters.Add(name, stem, "alpha", alphaShape, prelu.AlphaInitializer, prelu.AlphaRegularizer, prelu.AlphaConstraint);
                    count = alphaShape.Aggregate(1, (a, b) => a * b);
                    break;
                }
                case NormalizationSpec:
                {
                    // Keras's weights of the layer: mean, variance and the count of values they were adapted from.
                    int[] features = { input[input.Length - 1] };
                    var mean = states.Add(name, stem, "mean", features, "zeros");
                    var variance = states.Add(name, stem, "variance", features, "ones");
                    states.Add(name, stem, "count", Array.Empty<int>(), "zeros");
                    normalizations[node.Index] = (null, null, mean, variance);
                    count = 2 * features[0] + 1;
                    break;
                }
                case BatchNormalizationSpec norm:
                {
                    int[] channels = { input[input.Length - 1] };
                    var gamma = norm.Scale ? parameters.Add(name, stem, "gamma", channels, norm.GammaInitializer, norm.GammaRegularizer, norm.GammaConstraint) : null;
                    var beta = norm.Center ? parameters.Add(name, stem, "beta", channels, norm.BetaInitializer, norm.BetaRegularizer, norm.BetaConstraint) : null;
                    var mean = states.Add(name, stem, "moving_mean", channels, norm.MovingMeanInitializer);
                    var variance = states.Add(name, stem, "moving_variance", channels, norm.MovingVarianceInitializer);
                    normalizations[node.Index] = (gamma, beta, mean, variance);
                    count = channels[0] * (2 + (gamma is null ? 0 : 1) + (beta is null ? 0 : 1));
                    break;
                }
            }
            string? connected = functional ? string.Join(", ", node.Inputs.Select(i => InputName(nodes, i))) : null;
            summary.Add(new SummaryRow(name, node.Layer.Kind.ToString(), OutputShape(node.Shape!), count, connected));
            configs.Add(new LayerConfigPlan(name, node.Layer.Kind.ToString(), node.Inputs.Select(i => InputName(nodes, i)).ToEquatableArray(),
                node.Shape!.ToEquatableArray(), KerasConfig(node.Layer).ToEquatableArray()));

            // The kernel ("kernel", or Keras's "depthwise_kernel"), then the bias of `units` outputs.
            ParameterRef Weights(WeightsSpec weights, string role, int[] kernelShape, int units)
            {
                var kernel = parameters.Add(name, stem, role, kernelShape, weights.KernelInitializer, weights.KernelRegularizer, weights.KernelConstraint);
                count = kernelShape.Aggregate(1, (a, b) => a * b);
                if (weights.UseBias)
                {
                    biases[node.Index] = parameters.Add(name, stem, "bias", new[] { units }, weights.BiasInitializer, weights.BiasRegularizer, weights.BiasConstraint);
                    count += units;
                }
                return kernel;
            }
        }

        var groups = Fuse(nodes);

        // Which tensor each layer's output is: a call's result, or (Flatten) its input's.
        // A tensor is named by the group that makes it, or -1 for the model's input.
        var tensorOf = new int[nodes.Count];
        var groupOf = new Group?[nodes.Count];
        foreach (var group in groups)
        {
            foreach (var node in group.Nodes)
                groupOf[node.Index] = group;
        }
        foreach (var node in nodes)
        {
            var group = groupOf[node.Index]!;
            tensorOf[node.Index] = group.Head.Layer is FlattenSpec ? TensorOfInput(node.Inputs[0]) : group.Index;
        }
        int TensorOfInput(int input) => input == ModelInput ? ModelInput : tensorOf[input];

        // Forward buffers, in step order: each step's pre-activation, mask and output, as the steps need them.
        var forward = new List<BufferPlan>();
        int floats = 0;
        string Buffer(string field, int length)
        {
            forward.Add(new BufferPlan(field, floats, length));
            floats += (int)Arena.Aligned(length);
            return "p." + field;
        }
        var outputs = new string[groups.Count];          // the training-mode buffer of each group's result
        var forwardNames = new string[groups.Count];     // how forward reads it (a dropout's local)
        var heads = new string[groups.Count];            // the head layer's own output (a pooled convolution's, before pooling)
        var masks = new string?[groups.Count];           // a dropout's mask, on its own or after a pooling
        var pooled = new string?[groups.Count];          // a pooled convolution's pooled values
        var preActivations = new string?[groups.Count];
        var convolutionOutputs = new string?[groups.Count]; // a normalized convolution's own output, the normalization's input
        var epilogues = new EpiloguePlan?[groups.Count];
        var layerOutputs = new List<LayerOutputPlan>();
        foreach (var group in groups)
        {
            var head = group.Head;
            string stem = stems[head.Index];
            if (head.Layer is FlattenSpec)
                continue;
            int length = (int)Elements(head.Shape!);
            if (group.Normalization is { } normalization)
            {
                // The convolution's output, then (before an activation) the normalization's, then the call's result,
                // each named by the layer whose output it is.
                convolutionOutputs[group.Index] = Buffer(stem + "Y", length);
                layerOutputs.Add(new LayerOutputPlan(head.Name, convolutionOutputs[group.Index]!));
                var epilogue = epilogues[group.Index] = EpilogueOf(group, stem, alphas, activationOfTheLoss);
                if (epilogue.Kind != ActivationPlan.Linear)
                {
                    preActivations[group.Index] = Buffer(stems[normalization.Index] + "Y", length);
                    layerOutputs.Add(new LayerOutputPlan(normalization.Name, preActivations[group.Index]!));
                }
                string result = heads[group.Index] = outputs[group.Index] = forwardNames[group.Index] = Buffer(stems[group.Last.Index] + "Y", length);
                layerOutputs.Add(new LayerOutputPlan(group.Last.Name, result));
                continue;
            }
            if (head.Layer is WeightedLayerSpec)
            {
                var epilogue = EpilogueOf(group, stem, alphas, activationOfTheLoss);
                epilogues[group.Index] = epilogue;
                if (epilogue.Kind != ActivationPlan.Linear)
                {
                    preActivations[group.Index] = Buffer(stem + "Z", length);
                    layerOutputs.Add(new LayerOutputPlan(head.Name, preActivations[group.Index]!));
                }
            }
            else if (head.Layer is ActivationLayerSpec or PReluSpec)
            {
                epilogues[group.Index] = ActivationEpilogue(head, stem, alphas, activationOfTheLoss);
            }
            if (head.Layer is DropoutSpec)
                masks[group.Index] = Buffer(stem + "Mask", length);
            string y = heads[group.Index] = Buffer(stem + "Y", length);
            layerOutputs.Add(new LayerOutputPlan((group.Activation ?? head).Name, y));
            outputs[group.Index] = forwardNames[group.Index] = y;
            if (head.Layer is DropoutSpec)
                forwardNames[group.Index] = Camel(stem) + "Output";
            if (group.Pooling is { } pool)
            {
                outputs[group.Index] = forwardNames[group.Index] = pooled[group.Index] = Buffer(stems[pool.Index] + "Y", (int)Elements(pool.Shape!));
                layerOutputs.Add(new LayerOutputPlan(pool.Name, outputs[group.Index]));
            }
            if (group.Dropout is { } dropout)
            {
                masks[group.Index] = Buffer(stems[dropout.Index] + "Mask", (int)Elements(dropout.Shape!));
                outputs[group.Index] = Buffer(stems[dropout.Index] + "Y", (int)Elements(dropout.Shape!));
                forwardNames[group.Index] = Camel(stems[dropout.Index]) + "Output";
                layerOutputs.Add(new LayerOutputPlan(dropout.Name, outputs[group.Index]));
            }
        }

        // Which groups backward reaches: those with parameters, and those whose inputs lead back to some.
        foreach (var group in groups)
        {
            bool trainable = group.Nodes.Any(n => kernels.ContainsKey(n.Index) || alphas.ContainsKey(n.Index) ||
                normalizations.TryGetValue(n.Index, out var b) && (b.Gamma is not null || b.Beta is not null));
            group.NeedsGradient = trainable || group.Head.Inputs.Any(i => TensorOfInput(i) is var t && t != ModelInput && groups[t].NeedsGradient);
        }

        // Gradient routing, last step first. The first reader met (the last in forward order) writes a tensor's gradient
        // into the tensor's own buffer; every later one writes into a temporary buffer that is added into it right after
        // its call, so the sum's order is fixed. A dropout that is its input's only reader works in place.
        var last = groups[groups.Count - 1];
        var gradientOf = new Dictionary<int, GradientBuffer>();
        var buffers = new List<GradientBuffer>();
        var uses = new Dictionary<int, int>();
        foreach (var group in groups.Where(g => g.Head.Layer is not FlattenSpec))
        {
            foreach (int input in group.Head.Inputs)
            {
                int t = TensorOfInput(input);
                uses[t] = uses.TryGetValue(t, out int u) ? u + 1 : 1;
            }
        }
        var gradients = new GradientPlan?[groups.Count];
        var workspaces = new string?[groups.Count];
        int time = 0;
        for (int g = groups.Count - 1; g >= 0; g--, time++)
        {
            var group = groups[g];
            if (!group.NeedsGradient || group.Head.Layer is FlattenSpec)
                continue;
            string outputGrad;
            if (group == last)
            {
                outputGrad = "outputsGrad";
            }
            else
            {
                var own = gradientOf[g];
                own.End = time;
                outputGrad = "p." + own.Field;
            }
            if (group.Pooling is not null || group.Normalization is not null)
            {
                var workspace = new GradientBuffer(stems[group.Head.Index] + "Grad", (int)Elements(group.Head.Shape!), time);
                buffers.Add(workspace);
                workspaces[g] = "p." + workspace.Field;
            }
            var inputGrads = new List<string>();
            var sums = new List<SumPlan>();
            foreach (var (input, slot) in group.Head.Inputs.Select((input, slot) => (input, slot)))
            {
                int t = TensorOfInput(input);
                if (t == ModelInput || !groups[t].NeedsGradient)
                {
                    inputGrads.Add("null");
                    continue;
                }
                int length = (int)Elements(InputShapeOf(spec, nodes, group.Head, slot));
                if (!gradientOf.TryGetValue(t, out var begun))
                {
                    GradientBuffer total;
                    if (group.Head.Layer is DropoutSpec && uses[t] == 1 && gradientOf.TryGetValue(g, out var inPlace))
                    {
                        total = inPlace;
                    }
                    else
                    {
                        total = new GradientBuffer(stems[groups[t].Last.Index] + "Grad", length, time);
                        buffers.Add(total);
                    }
                    gradientOf[t] = total;
                    inputGrads.Add("p." + total.Field);
                }
                else
                {
                    var term = new GradientBuffer($"{stems[group.Head.Index]}Input{slot}Grad", length, time);
                    buffers.Add(term);
                    inputGrads.Add("p." + term.Field);
                    sums.Add(new SumPlan("p." + term.Field, "p." + begun.Field));
                }
            }
            gradients[g] = new GradientPlan(outputGrad, inputGrads.ToEquatableArray(), sums.ToEquatableArray());
        }

        // The gradient buffers by liveness: each takes the lowest place free of every buffer live at the same time.
        int gradientBase = floats;
        var placed = new List<GradientBuffer>();
        foreach (var buffer in buffers.Distinct().OrderBy(b => b.Start).ThenByDescending(b => b.Length))
        {
            var overlapping = placed.Where(o => o.Start <= buffer.End && buffer.Start <= o.End).OrderBy(o => o.Offset).ToList();
            int offset = gradientBase;
            foreach (var other in overlapping)
            {
                if (offset + Arena.Aligned(buffer.Length) <= other.Offset)
                    break;
                offset = Math.Max(offset, other.Offset + (int)Arena.Aligned(other.Length));
            }
            buffer.Offset = offset;
            placed.Add(buffer);
            floats = Math.Max(floats, offset + (int)Arena.Aligned(buffer.Length));
        }
        // A model for prediction only keeps the forward buffers and the loss's predictions: no gradient has a place.
        if (spec.InferenceOnly)
        {
            placed.Clear();
            floats = gradientBase;
        }
        var arena = forward.Concat(placed.OrderBy(b => b.Offset).Select(b => new BufferPlan(b.Field, b.Offset, b.Length))).ToList();
        int outputLength = (int)Elements(last.Last.Shape!);
        string LossBuffer(string field)
        {
            arena.Add(new BufferPlan(field, floats, outputLength));
            floats += (int)Arena.Aligned(outputLength);
            return "p." + field;
        }
        string predictions = LossBuffer("Predictions"), outputsGrad = spec.InferenceOnly ? predictions : LossBuffer("OutputsGrad");

        var buffersOf = new GroupBuffers(heads, outputs, forwardNames, masks, pooled, preActivations, convolutionOutputs);
        var steps = groups.Select(group => StepOf(spec, nodes, group, stems, tensorOf, buffersOf, epilogues,
            gradients[group.Index], workspaces[group.Index], kernels, biases, normalizations)).ToList();
        return new ModelPlan(spec.Namespace, spec.ClassName, spec.Accessibility, spec.InputShape, outputLength, loss.Kind.ToString(), loss.Delta,
            parameters.Tensors, parameters.Length, states.Tensors, states.Length, steps.ToEquatableArray(), arena.ToEquatableArray(), floats,
            outputs[last.Index], predictions, outputsGrad, layerOutputs.ToEquatableArray(), functional, summary.ToEquatableArray(), configs.ToEquatableArray(),
            spec.InferenceOnly);
    }

    // Groups in declaration order (a topological order, since a layer reads only layers above it).
    private static List<Group> Fuse(List<Node> nodes)
    {
        var groups = new List<Group>();
        for (int i = 0; i < nodes.Count; i++)
        {
            var group = new Group(nodes[i]) { Index = groups.Count };
            groups.Add(group);
            var head = nodes[i];
            bool linear = head.Layer is WeightedLayerSpec { Activation: "linear" };
            // A linear convolution, the BatchNormalization of its output and the activation after that: one call, unpooled.
            if (linear && head.Layer is Conv2DSpec && Follows(nodes, head, i + 1) is { Layer: BatchNormalizationSpec } normalization)
            {
                group.Normalization = normalization;
                i++;
            }
            if (linear && Follows(nodes, group.Normalization ?? head, i + 1) is { Layer: ActivationLayerSpec or PReluSpec } activation)
            {
                group.Activation = activation;
                i++;
            }
            if (head.Layer is not Conv2DSpec || group.Normalization is not null)
                continue;
            if (Follows(nodes, group.Last, i + 1) is { Layer: Pooling2DSpec { Kind: LayerKind.MaxPooling2D } or GlobalPooling2DSpec { Kind: LayerKind.GlobalMaxPooling2D } } pool)
            {
                group.Pooling = pool;
                i++;
                if (Follows(nodes, pool, i + 1) is { Layer: DropoutSpec } dropout)
                {
                    group.Dropout = dropout;
                    i++;
                }
            }
        }
        return groups;
    }

    // The layer at `index` when it is declared right after `producer` and is its only reader.
    private static Node? Follows(List<Node> nodes, Node producer, int index) =>
        index < nodes.Count && producer.Readers.Count == 1 && producer.Readers[0] == index && nodes[index].Inputs.Length == 1 ? nodes[index] : null;

    private static int[] InputShapeOf(ModelSpec spec, List<Node> nodes, Node node, int slot = 0) =>
        node.Inputs[slot] == ModelInput ? spec.InputShape.ToArray() : nodes[node.Inputs[slot]].Shape!;

    // A convolution's or dense layer's epilogue: its own activation argument, or the activation layer fused after it.
    // The layer at lossNode leaves its activation to the loss.
    private static EpiloguePlan EpilogueOf(Group group, string stem, Dictionary<int, ParameterRef> alphas, int lossNode)
    {
        if (group.Activation is { } activation)
            return ActivationEpilogue(activation, stem, alphas, lossNode) with { Shape = group.Head.Shape!.ToEquatableArray() };
        string name = ((WeightedLayerSpec)group.Head.Layer).Activation;
        var (kind, constant) = group.Head.Index == lossNode ? (ActivationPlan.Linear, 0.0) : ActivationNames[name];
        return new EpiloguePlan(stem + "Activation", kind, constant, group.Head.Shape!.ToEquatableArray(), EquatableArray<int>.Empty, null);
    }

    // An activation layer as an epilogue (of its own step, or fused into the layer before it); linear at lossNode.
    private static EpiloguePlan ActivationEpilogue(Node node, string stem, Dictionary<int, ParameterRef> alphas, int lossNode)
    {
        var shape = node.Shape!.ToEquatableArray();
        if (node.Layer is PReluSpec prelu)
            return new EpiloguePlan(stem + "Activation", ActivationPlan.PRelu, 0, shape, prelu.SharedAxes.OrderBy(a => a).ToEquatableArray(), alphas[node.Index]);
        var layer = (ActivationLayerSpec)node.Layer;
        var (kind, constant) = node.Index == lossNode ? (ActivationPlan.Linear, 0.0) : ActivationNames[layer.Activation];
        return new EpiloguePlan(stem + "Activation", kind, layer.Constant ?? constant, shape, EquatableArray<int>.Empty, null);
    }

    /// <summary>
    /// Each group's forward buffers, by group index: the head's output, the result (training), how forward reads it, its
    /// mask, its pooled values, z, and a normalized convolution's own output.
    /// </summary>
    private sealed record GroupBuffers(string[] Heads, string[] Outputs, string[] ForwardNames, string?[] Masks, string?[] Pooled, string?[] PreActivations,
        string?[] ConvolutionOutputs);

    private static StepPlan StepOf(ModelSpec spec, List<Node> nodes, Group group, string[] stems, int[] tensorOf, GroupBuffers buffers,
        EpiloguePlan?[] epilogues, GradientPlan? gradient, string? workspace, Dictionary<int, ParameterRef> kernels,
        Dictionary<int, ParameterRef> biases, Dictionary<int, (ParameterRef? Gamma, ParameterRef? Beta, ParameterRef Mean, ParameterRef Variance)> normalizations)
    {
        var head = group.Head;
        string stem = stems[head.Index];
        var inputs = head.Inputs.Select((input, slot) =>
        {
            var shape = InputShapeOf(spec, nodes, head, slot).ToEquatableArray();
            int t = input == ModelInput ? ModelInput : tensorOf[input]; // a Flatten of the input is the input
            return t == ModelInput ? new Operand("input", "input", shape) : new Operand(buffers.ForwardNames[t], buffers.Outputs[t], shape);
        }).ToEquatableArray();
        var outputShape = group.Last.Shape!.ToEquatableArray();
        string label = group.Label;
        int g = group.Index;
        string y = buffers.Heads[g];
        string? preActivation = buffers.PreActivations[g];
        int[] input0 = inputs[0].Shape.ToArray();
        switch (head.Layer)
        {
            case Conv2DSpec conv:
            {
                var window = Window(input0, conv.KernelSize, conv.Strides, conv.Padding);
                PoolingAfterPlan? pooling = null;
                if (group.Pooling is { } pool)
                {
                    DropoutAfterPlan? dropout = group.Dropout is { Layer: DropoutSpec d } dropoutNode
                        ? new DropoutAfterPlan(dropoutNode.Name, d.Rate, dropoutNode.Index, buffers.Masks[g]!, buffers.Outputs[g], buffers.ForwardNames[g],
                            dropoutNode.Shape!.ToEquatableArray())
                        : null;
                    pooling = new PoolingAfterPlan(pool.Name, stems[pool.Index], PoolWindow(head.Shape!, pool.Layer), buffers.Pooled[g]!,
                        pool.Shape!.ToEquatableArray(), dropout, workspace);
                }
                NormalizationAfterPlan? normalization = null;
                if (group.Normalization is { Layer: BatchNormalizationSpec norm } normalizationNode)
                {
                    var tensors = normalizations[normalizationNode.Index];
                    normalization = new NormalizationAfterPlan(normalizationNode.Name, norm.Momentum, norm.Epsilon, tensors.Gamma, tensors.Beta,
                        tensors.Mean.Field, tensors.Variance.Field, buffers.ConvolutionOutputs[g]!, workspace);
                }
                return new ConvolutionStep(label, stem, inputs, head.Shape!.ToEquatableArray(), gradient, window, conv.Filters, epilogues[g]!,
                    kernels[head.Index], biases.TryGetValue(head.Index, out var bias) ? bias : null, preActivation, y, pooling, normalization);
            }
            case DepthwiseConv2DSpec depthwise:
                return new DepthwiseConvolutionStep(label, stem, inputs, outputShape, gradient, Window(input0, depthwise.KernelSize, depthwise.Strides, depthwise.Padding),
                    depthwise.DepthMultiplier, epilogues[g]!, kernels[head.Index], biases.TryGetValue(head.Index, out var depthwiseBias) ? depthwiseBias : null,
                    preActivation, y);
            case DenseSpec dense:
                return new DenseStep(label, stem, inputs, outputShape, gradient, input0[0], dense.Units, epilogues[g]!, kernels[head.Index],
                    biases.TryGetValue(head.Index, out var denseBias) ? denseBias : null, preActivation, y);
            case Pooling2DSpec or GlobalPooling2DSpec:
                return new PoolingStep(label, stem, inputs, outputShape, gradient,
                    head.Layer.Kind is LayerKind.MaxPooling2D or LayerKind.GlobalMaxPooling2D, PoolWindow(input0, head.Layer), y);
            case NormalizationSpec:
            {
                var tensors = normalizations[head.Index];
                int features = input0[input0.Length - 1];
                return new NormalizationStep(label, stem, inputs, outputShape, gradient, (int)(Elements(input0) / features), features,
                    tensors.Mean.Field, tensors.Variance.Field, y);
            }
            case BatchNormalizationSpec norm:
            {
                var tensors = normalizations[head.Index];
                int channels = input0[input0.Length - 1];
                return new BatchNormalizationStep(label, stem, inputs, outputShape, gradient, (int)(Elements(input0) / channels), channels, norm.Momentum,
                    norm.Epsilon, tensors.Gamma, tensors.Beta, tensors.Mean.Field, tensors.Variance.Field, y);
            }
            case DropoutSpec dropoutLayer:
                return new DropoutStep(label, null, inputs, outputShape, gradient, dropoutLayer.Rate, head.Index, buffers.Masks[g]!, y, buffers.ForwardNames[g]);
            case ActivationLayerSpec or PReluSpec:
                return new ActivationStep(label, null, inputs, outputShape, gradient, epilogues[g]!, y);
            case MergeSpec merge:
                return new MergeStep(label, null, inputs, outputShape, gradient, merge.Kind switch
                {
                    LayerKind.Add => MergePlan.Add,
                    LayerKind.Multiply => MergePlan.Multiply,
                    LayerKind.Average => MergePlan.Average,
                    _ => MergePlan.Maximum,
                }, y);
            case ConcatenateSpec concatenate:
            {
                int axis = concatenate.Axis < 0 ? input0.Length + concatenate.Axis : concatenate.Axis - 1; // 0-based, per sample
                int rows = (int)Elements(input0.Take(axis));
                var widths = inputs.Select(i => (int)Elements(i.Shape.Skip(axis))).ToEquatableArray();
                return new ConcatenateStep(label, stem, inputs, outputShape, gradient, rows, widths, y);
            }
            default:
                return new FlattenStep(label, null, inputs, outputShape, null);
        }
    }

    private static WindowPlan Window(int[] input, EquatableArray<int> window, EquatableArray<int> strides, string padding) =>
        new(input[0], input[1], input[2], HeightWidth(window).Height, HeightWidth(window).Width, HeightWidth(strides).Height, HeightWidth(strides).Width,
            padding == "same");

    // A pooling's window: its pool size and strides (Keras's default: the pool size), or for global pooling the whole map.
    private static WindowPlan PoolWindow(int[] input, LayerSpec layer) => layer is Pooling2DSpec pooling
        ? Window(input, pooling.PoolSize, pooling.Strides.Count == 0 ? pooling.PoolSize : pooling.Strides, pooling.Padding)
        : new WindowPlan(input[0], input[1], input[2], input[0], input[1], input[0], input[1], false);

    // C# identifier stems for the layers' fields, one per layer: Pascal case of the name, numbered where two names meet.
    private static string[] UniqueStems(List<Node> nodes)
    {
        var taken = new HashSet<string>(StringComparer.Ordinal);
        return nodes.Select(n =>
        {
            string stem = Pascal(n.Name), unique = stem;
            for (int k = 2; !taken.Add(unique); k++)
                unique = stem + k;
            return unique;
        }).ToArray();
    }

    private static string OutputShape(int[] shape) => $"(None, {Dims(shape)})";

    // A layer's arguments by Keras's names (its get_config), the sizes resolved: (height, width) pairs, strides that
    // default to the pool size filled in. Initializers, regularizers and constraints are training's, not the model's.
    private static ConfigEntry[] KerasConfig(LayerSpec layer)
    {
        static string Pair(EquatableArray<int> values) => $"[{HeightWidth(values).Height}, {HeightWidth(values).Width}]";
        static string Flag(bool value) => value ? "true" : "false";
        static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);
        switch (layer)
        {
            case Conv2DSpec conv:
                return new ConfigEntry[]
                {
                    new("filters", conv.Filters.ToString(CultureInfo.InvariantCulture)), new("kernel_size", Pair(conv.KernelSize)),
                    new("strides", Pair(conv.Strides)), new("padding", conv.Padding), new("activation", conv.Activation),
                    new("use_bias", Flag(conv.Weights.UseBias)),
                };
            case DepthwiseConv2DSpec depthwise:
                return new ConfigEntry[]
                {
                    new("depth_multiplier", depthwise.DepthMultiplier.ToString(CultureInfo.InvariantCulture)), new("kernel_size", Pair(depthwise.KernelSize)),
                    new("strides", Pair(depthwise.Strides)), new("padding", depthwise.Padding), new("activation", depthwise.Activation),
                    new("use_bias", Flag(depthwise.Weights.UseBias)),
                };
            case DenseSpec dense:
                return new ConfigEntry[]
                {
                    new("units", dense.Units.ToString(CultureInfo.InvariantCulture)), new("activation", dense.Activation), new("use_bias", Flag(dense.Weights.UseBias)),
                };
            case Pooling2DSpec pool:
                return new ConfigEntry[]
                {
                    new("pool_size", Pair(pool.PoolSize)), new("strides", Pair(pool.Strides.Count == 0 ? pool.PoolSize : pool.Strides)), new("padding", pool.Padding),
                };
            case NormalizationSpec normalization:
                return new ConfigEntry[] { new("axis", normalization.Axis.ToString(CultureInfo.InvariantCulture)) };
            case BatchNormalizationSpec norm:
                return new ConfigEntry[]
                {
                    new("axis", norm.Axis.ToString(CultureInfo.InvariantCulture)), new("momentum", Number(norm.Momentum)), new("epsilon", Number(norm.Epsilon)),
                    new("center", Flag(norm.Center)), new("scale", Flag(norm.Scale)),
                };
            case DropoutSpec dropout:
                return new ConfigEntry[] { new("rate", Number(dropout.Rate)) };
            case PReluSpec prelu:
                return new ConfigEntry[] { new("shared_axes", $"[{string.Join(", ", prelu.SharedAxes)}]") };
            case ActivationLayerSpec activation:
                return activation.Constant is { } constant
                    ? new ConfigEntry[] { new("activation", activation.Activation), new("alpha", Number(constant)) }
                    : new ConfigEntry[] { new("activation", activation.Activation) };
            case ConcatenateSpec concatenate:
                return new ConfigEntry[] { new("axis", concatenate.Axis.ToString(CultureInfo.InvariantCulture)) };
            default:
                return Array.Empty<ConfigEntry>(); // Flatten, the global poolings and the merges take no arguments
        }
    }

    /// <summary>"conv2d_1" -> "Conv2d1", "p_re_lu" -> "PReLu": identifiers from layer names.</summary>
    internal static string Pascal(string name)
    {
        var parts = name.Split(new[] { '_', '-', '.', ' ' }, StringSplitOptions.RemoveEmptyEntries);
        var text = string.Concat(parts.Select(p => char.ToUpperInvariant(p[0]) + p.Substring(1)));
        var clean = new string(text.Where(c => char.IsLetterOrDigit(c)).ToArray());
        return clean.Length == 0 || char.IsDigit(clean[0]) ? "Layer" + clean : clean;
    }

    private static string Camel(string name)
    {
        var pascal = Pascal(name);
        return char.ToLowerInvariant(pascal[0]) + pascal.Substring(1);
    }
}
