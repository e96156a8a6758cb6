using System;
using System.Collections.Generic;
using System.Linq;
using Prelu.Generators.Model;
using Prelu.Models;

namespace Prelu.Generators;

// Planning a checked model, completely, before anything is printed: which layers fuse into one kernel call,
// every parameter and state tensor's place in its arena, every activation buffer's place in the activation
// arena, and which buffer each step's gradients go through in backward.
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
        public string Add(string layer, string role, int[] shape, string initializer, string? regularizer = null, string? constraint = null)
        {
            string field = "_" + Camel(layer) + Pascal(role);
            _tensors.Add(new ParameterPlan($"{layer}.{role}", field, shape.ToEquatableArray(), Length, KerasObjects.Initializer(initializer, out _)!,
                regularizer is null ? null : KerasObjects.Regularizer(regularizer, out _),
                constraint is null ? null : KerasObjects.Constraint(constraint, shape.Length, out _)));
            Length += (int)Arena.Aligned(shape.Aggregate(1, (a, b) => a * b));
            return field;
        }
    }

    /// <summary>An activation as a step runs it: kind, constant, PReLU's shared axes and alpha field.</summary>
    private sealed record ActivationStep(ActivationPlan Kind, double Parameter, int[] SharedAxes, string? Alpha, int AlphaCount)
    {
        public static readonly ActivationStep Linear = new(ActivationPlan.Linear, 0, Array.Empty<int>(), null, 0);
    }

    private static bool IsActivationLayer(LayerSpec layer) =>
        layer.Kind is LayerKind.PReLU or LayerKind.ReLU or LayerKind.LeakyReLU or LayerKind.ELU or LayerKind.Activation;

    // An activation layer's step; PReLU places its alphas (the feature shape with 1 on each shared axis).
    private static ActivationStep ActivationOf(LayerSpec layer, string name, int[] shape, TensorArena parameters)
    {
        switch (layer.Kind)
        {
            case LayerKind.ReLU:
                return ActivationStep.Linear with { Kind = ActivationPlan.Relu };
            case LayerKind.LeakyReLU:
                return ActivationStep.Linear with { Kind = ActivationPlan.LeakyRelu, Parameter = layer.Rate };
            case LayerKind.ELU:
                return ActivationStep.Linear with { Kind = ActivationPlan.Elu, Parameter = layer.Rate };
            case LayerKind.Activation:
                if (layer.Activation == "softmax")
                    return ActivationStep.Linear; // fused with the loss
                var (kind, parameter) = ActivationNames[layer.Activation];
                return ActivationStep.Linear with { Kind = kind, Parameter = parameter };
            default:
                int[] alphaShape = shape.Select((size, axis) => layer.SharedAxes.Contains(axis + 1) ? 1 : size).ToArray();
                string alpha = parameters.Add(name, "alpha", alphaShape, layer.AlphaInitializer, layer.AlphaRegularizer, layer.AlphaConstraint);
                return new ActivationStep(ActivationPlan.PRelu, 0, layer.SharedAxes.OrderBy(a => a).ToArray(), alpha, alphaShape.Aggregate(1, (a, b) => a * b));
        }
    }

    private static ModelPlan PlanModel(ModelSpec spec, List<LayerSpec> layers, List<string> names, List<int[]> shapes)
    {
        var parameters = new TensorArena();
        var states = new TensorArena();
        var steps = new List<StepPlan>();
        var summary = new List<SummaryRow>();

        int[] current = spec.InputShape.ToArray();
        string input = "Input";
        bool seenTrainable = false;
        for (int i = 0; i < layers.Count; i++)
        {
            var layer = layers[i];
            string name = names[i];
            int[] output = shapes[i];
            int layerIndex = i;
            string stepName = name;
            string? kernel = null, bias = null;
            var activation = ActivationStep.Linear;
            NormalizationPlan? normalization = null;
            var window = layer.Window;
            var strides = layer.Strides;
            StepKind kind;

            switch (layer.Kind)
            {
                case LayerKind.Conv2D:
                case LayerKind.Dense:
                {
                    kind = layer.Kind == LayerKind.Conv2D ? StepKind.Conv2D : StepKind.Dense;
                    int[] kernelShape = kind == StepKind.Conv2D
                        ? new[] { layer.Window[0], layer.Window.Count == 2 ? layer.Window[1] : layer.Window[0], current[2], layer.Size }
                        : new[] { current[0], layer.Size };
                    kernel = parameters.Add(name, "kernel", kernelShape, layer.KernelInitializer, layer.KernelRegularizer, layer.KernelConstraint);
                    int count = kernelShape.Aggregate(1, (a, b) => a * b);
                    if (layer.UseBias)
                    {
                        bias = parameters.Add(name, "bias", new[] { layer.Size }, layer.BiasInitializer, layer.BiasRegularizer, layer.BiasConstraint);
                        count += layer.Size;
                    }
                    if (layer.Activation != "softmax") // softmax is fused with the loss instead
                    {
                        var (plan, parameter) = ActivationNames[layer.Activation];
                        activation = ActivationStep.Linear with { Kind = plan, Parameter = parameter };
                    }
                    summary.Add(new SummaryRow(name, layer.Kind.ToString(), OutputShape(output), count));

                    // Fuse a following activation layer into this layer's epilogue.
                    if (activation.Kind == ActivationPlan.Linear && layer.Activation != "softmax" && i + 1 < layers.Count && IsActivationLayer(layers[i + 1]))
                    {
                        var next = layers[i + 1];
                        string nextName = names[i + 1];
                        activation = ActivationOf(next, nextName, output, parameters);
                        summary.Add(new SummaryRow(nextName, next.Kind.ToString(), OutputShape(output), activation.AlphaCount));
                        stepName = $"{name} + {nextName}";
                        i++;
                    }
                    break;
                }
                case LayerKind.PReLU:
                case LayerKind.ReLU:
                case LayerKind.LeakyReLU:
                case LayerKind.ELU:
                case LayerKind.Activation:
                    kind = StepKind.Activation;
                    activation = ActivationOf(layer, name, output, parameters);
                    summary.Add(new SummaryRow(name, layer.Kind.ToString(), OutputShape(output), activation.AlphaCount));
                    break;
                case LayerKind.MaxPooling2D:
                case LayerKind.AveragePooling2D:
                    kind = layer.Kind == LayerKind.MaxPooling2D ? StepKind.MaxPooling2D : StepKind.AveragePooling2D;
                    if (strides.Count == 0)
                        strides = window; // Keras's default: strides equal to the pool size
                    summary.Add(new SummaryRow(name, layer.Kind.ToString(), OutputShape(output), 0));
                    break;
                case LayerKind.GlobalAveragePooling2D:
                case LayerKind.GlobalMaxPooling2D:
                    // A pool whose one window is the whole map.
                    kind = layer.Kind == LayerKind.GlobalMaxPooling2D ? StepKind.MaxPooling2D : StepKind.AveragePooling2D;
                    window = strides = new[] { current[0], current[1] }.ToEquatableArray();
                    summary.Add(new SummaryRow(name, layer.Kind.ToString(), OutputShape(output), 0));
                    break;
                case LayerKind.BatchNormalization:
                {
                    kind = StepKind.BatchNormalization;
                    var norm = layer.Normalization;
                    int[] channels = { current[current.Length - 1] };
                    string? gamma = norm.Scale ? parameters.Add(name, "gamma", channels, norm.GammaInitializer, norm.GammaRegularizer, norm.GammaConstraint) : null;
                    string? beta = norm.Center ? parameters.Add(name, "beta", channels, norm.BetaInitializer, norm.BetaRegularizer, norm.BetaConstraint) : null;
                    string movingMean = states.Add(name, "moving_mean", channels, norm.MovingMeanInitializer);
                    string movingVariance = states.Add(name, "moving_variance", channels, norm.MovingVarianceInitializer);
                    normalization = new NormalizationPlan(norm.Momentum, norm.Epsilon, gamma, beta, movingMean, movingVariance);
                    int count = channels[0] * (2 + (gamma is null ? 0 : 1) + (beta is null ? 0 : 1));
                    summary.Add(new SummaryRow(name, "BatchNormalization", OutputShape(output), count));
                    break;
                }
                case LayerKind.Dropout:
                    kind = StepKind.Dropout;
                    summary.Add(new SummaryRow(name, "Dropout", OutputShape(output), 0));
                    break;
                default:
                    kind = StepKind.Flatten;
                    summary.Add(new SummaryRow(name, "Flatten", OutputShape(output), 0));
                    break;
            }

            bool trainable = kernel is not null || activation.Alpha is not null || normalization?.Gamma is not null || normalization?.Beta is not null;
            string field = Pascal(name);
            steps.Add(new StepPlan(kind, layerIndex, stepName, field, current.ToEquatableArray(), output.ToEquatableArray(), input,
                layer.Size, window, strides, layer.Padding == "same", activation.Kind, activation.Parameter,
                activation.SharedAxes.ToEquatableArray(), layer.Rate, kernel, bias, activation.Alpha, normalization,
                FirstTrainable: trainable && !seenTrainable, FusesPooling: false, FusesDropout: false, FusedIntoConvolution: false, OutputGradBuffer: null, InputGradBuffer: null));
            seenTrainable |= trainable;
            if (kind != StepKind.Flatten)
                input = field + "Y";
            current = output;
        }

        var routed = RouteGradients(FusePooling(steps));
        var (buffers, floatsPerSample) = LayOutActivations(routed, shapes[shapes.Count - 1][0]);
        return new ModelPlan(spec.Namespace, spec.ClassName, spec.Accessibility, spec.InputShape, shapes[shapes.Count - 1][0],
            parameters.Tensors, parameters.Length, states.Tensors, states.Length, routed.ToEquatableArray(), buffers, floatsPerSample,
            summary.ToEquatableArray());
    }

    // A convolution followed by max pooling (global max pooling too) becomes one kernel call forward and one
    // backward, so that a backend can pool each group of images while the convolution's output is in cache; a
    // Dropout right after the pooling joins the call in training, so that the pooled values are dropped out as they
    // are made (and their gradient taken back through the mask as it is read). Every step keeps its buffers; only
    // the calls change.
    private static List<StepPlan> FusePooling(List<StepPlan> steps)
    {
        var fused = new List<StepPlan>(steps);
        for (int i = 0; i + 1 < steps.Count; i++)
        {
            if (steps[i].Kind != StepKind.Conv2D || steps[i + 1].Kind != StepKind.MaxPooling2D)
                continue;
            bool dropout = i + 2 < steps.Count && steps[i + 2].Kind == StepKind.Dropout;
            fused[i] = steps[i] with { FusesPooling = true, FusesDropout = dropout };
            fused[i + 1] = steps[i + 1] with { FusedIntoConvolution = true };
            if (dropout)
                fused[i + 2] = steps[i + 2] with { FusedIntoConvolution = true };
        }
        return fused;
    }

    // Backward, from the last step to the first trainable one: each step's dL/d(input) goes to the gradient
    // buffer its dL/d(output) is not in; dropout and flatten work in place.
    private static List<StepPlan> RouteGradients(List<StepPlan> steps)
    {
        var routed = new List<StepPlan>(steps);
        string current = "LogitsGrad", outputGrad = "LogitsGrad";
        for (int i = steps.Count - 1; i >= 0; i--)
        {
            var step = steps[i];
            if (step.FirstTrainable)
            {
                routed[i] = step with { OutputGradBuffer = outputGrad };
                break;
            }
            string target = step.GradientInPlace ? current : current == "GradA" ? "GradB" : "GradA";
            routed[i] = step with { OutputGradBuffer = outputGrad, InputGradBuffer = step.GradientInPlace ? outputGrad : target };
            current = target;
            outputGrad = step.Field + "InputGrad";
        }
        return routed;
    }

    // Every activation buffer's place, per sample of the batch: a buffer of n floats per sample at per-sample
    // offset o occupies [o * maxBatch, o * maxBatch + n * batch) of the arena.
    private static (EquatableArray<BufferPlan> Buffers, int FloatsPerSample) LayOutActivations(List<StepPlan> steps, int classes)
    {
        var buffers = new List<BufferPlan>();
        int offset = 0;
        void Add(string name, int length)
        {
            buffers.Add(new BufferPlan(name, offset, length));
            offset += (int)Arena.Aligned(length);
        }

        foreach (var step in steps)
        {
            if (step.KeepsPreActivation)
                Add(step.Field + "Z", step.OutputLength);
            if (step.Kind == StepKind.Dropout)
                Add(step.Field + "Mask", step.OutputLength);
            if (step.Kind != StepKind.Flatten)
                Add(step.Field + "Y", step.OutputLength);
        }
        int largest = steps.Max(s => Math.Max(s.InputLength, s.OutputLength));
        Add("GradA", largest);
        Add("GradB", largest);
        Add("Probabilities", classes);
        Add("LogitsGrad", classes);
        return (buffers.ToEquatableArray(), offset);
    }

    private static string OutputShape(int[] shape) => $"(None, {Dims(shape)})";

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
