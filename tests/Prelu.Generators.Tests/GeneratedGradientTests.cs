using System.Collections.Concurrent;
using Prelu.Backends;
using Prelu.Kernels;
using Prelu.Tests.Shared;

namespace Prelu.Generators.Tests;

/// <summary>
/// The generated backward code of every test model, checked tensor by tensor against float64 central
/// differences of its own loss. The model runs on <see cref="ManagedFloat64Backend"/>: the generated
/// forward, loss, regularizers and backward, unchanged, in double precision, so that a finite difference
/// with a step of 1e-7 is exact to about 1e-8 and crosses no ReLU kink or max-pooling switch. Each
/// tensor gets its own random direction, so a small tensor (a single alpha, a bias) is not drowned by a
/// large one, and the tolerance (1e-4 relative) is far below what a zeroed, sign-flipped or misrouted
/// gradient would need to pass; the second theory shows that it cannot.
/// </summary>
public sealed class GeneratedGradientTests
{
    private const int Batch = 3;
    private const ulong TrainingStep = 5; // picks the dropout masks; the same on both sides of a difference
    private const double Step = 1e-7;
    private const double RelativeTolerance = 1e-4;
    private const double AbsoluteTolerance = 1e-9;

    /// <summary>A directional derivative below this would let a zeroed gradient pass; no checked tensor may have one.</summary>
    private const double Significant = 1e-5;

    public static TheoryData<Type> AllModels => new(TestModels.All);

    /// <summary>A wrong gradient, as a broken backward would write it.</summary>
    public enum Corruption
    {
        /// <summary>Never written (the gradient buffer left at zero).</summary>
        Zeroed,

        /// <summary>The sign lost.</summary>
        Flipped,

        /// <summary>Each value written one element off (a wrong index or stride).</summary>
        Misrouted,
    }

    /// <summary>One tensor's analytic and numeric derivative along its own random direction.</summary>
    public sealed record TensorCheck(string Name, int Length, double[] Gradient, double[] Direction, double Numeric)
    {
        public double Analytic => Dot(Gradient, Direction);

        public bool Agrees(double[] gradient, out string report)
        {
            double analytic = Dot(gradient, Direction);
            double error = Math.Abs(analytic - Numeric);
            report = $"{Name} ({Length} values): backward gives {analytic:G10}, the float64 finite difference {Numeric:G10} (error {error:E2})";
            return error <= RelativeTolerance * Math.Abs(Numeric) + AbsoluteTolerance;
        }
    }

    [Theory]
    [MemberData(nameof(AllModels))]
    public void Every_parameter_tensors_gradient_matches_float64_finite_differences(Type type)
    {
        var checks = ChecksOf(type);

        Assert.Equal(ParameterNames(type), checks.Select(c => c.Name));
        foreach (var check in checks)
        {
            Assert.True(check.Agrees(check.Gradient, out var report), report);
            Assert.True(Math.Abs(check.Numeric) >= Significant,
                $"{report}: too small a derivative for the check to tell a zeroed gradient from the right one");
        }
    }

    [Theory]
    [MemberData(nameof(AllModels))]
    public void The_check_rejects_a_zeroed_flipped_or_misrouted_gradient_of_every_tensor(Type type)
    {
        foreach (var check in ChecksOf(type))
        {
            foreach (var corruption in Enum.GetValues<Corruption>())
            {
                if (corruption == Corruption.Misrouted && check.Length == 1)
                    continue; // a single alpha has nowhere else to go
                var wrong = Corrupt(check.Gradient, corruption);
                Assert.False(check.Agrees(wrong, out var report), $"{corruption} gradient passed the check: {report}");
            }
        }
    }

    [Fact]
    public void Every_prelu_sharing_form_is_among_the_checked_models()
    {
        using var backend = new ManagedBackend();
        var alphaShapes = new List<int[]>();
        foreach (var type in TestModels.All)
        {
            using var model = TestModels.Create(type, backend, 1);
            alphaShapes.AddRange(model.Parameters.Where(p => p.Name.EndsWith(".alpha", StringComparison.Ordinal)).Select(p => p.Shape.ToArray()));
        }

        // The alpha's shape has a 1 on each shared axis.
        Assert.Contains(alphaShapes, s => s.Length == 3 && s.All(d => d > 1)); // per element on a map
        Assert.Contains(alphaShapes, s => s.Length == 1 && s[0] > 1); // per element after a dense layer
        Assert.Contains(alphaShapes, s => s.All(d => d == 1)); // one alpha for everything
        Assert.Contains(alphaShapes, s => s is [1, 1, > 1]); // channel-wise
        Assert.Contains(alphaShapes, s => s is [1, > 1, > 1] or [1, > 1, 1]); // shared along some spatial axes only
    }

    /// <summary>
    /// The float64 reference with a planted error in the sums of gradients: every sum after the first is dropped, as a
    /// backward that overwrote a fan-out tensor's gradient instead of adding to it would do.
    /// </summary>
    private sealed class DroppedSumsBackend : ReferenceBackend<double>
    {
        public override string Name => "managed (float64, gradient sums dropped)";

        public int Sums { get; private set; }

        protected override void AccumulateCore(DeviceBuffer gradient, DeviceBuffer total) => Sums++;
    }

    [Fact]
    public void A_fan_out_tensors_gradient_that_misses_a_term_fails_the_check()
    {
        var right = ChecksOf(typeof(ResidualGraphNet));
        using var planted = new DroppedSumsBackend();
        var wrong = Measure(typeof(ResidualGraphNet), planted);

        Assert.True(planted.Sums > 0, "the model's backward added no gradients: it has no tensor that several layers read");
        // Every tensor at or before the stem (read by four layers) and the pooled map (read by two) is reached through a
        // sum; its gradient is now wrong and the check, with the right finite difference, must say so.
        var failing = right.Zip(wrong).Where(pair => !pair.First.Agrees(pair.Second.Gradient, out _)).Select(pair => pair.First.Name).ToList();
        Assert.Contains("stem.kernel", failing);
        Assert.Contains("stem.bias", failing);
        Assert.Contains("conv_c.kernel", failing);
        Assert.DoesNotContain("out.kernel", failing); // after every sum: untouched
        foreach (var check in right)
            Assert.True(check.Agrees(check.Gradient, out var report), report);
    }

    /// <summary>
    /// The float64 reference with a planted error in the fused convolution + BatchNormalization + activation's backward:
    /// the activation's gradient skipped (taken as linear), as a fused kernel that forgot its epilogue would do.
    /// </summary>
    private sealed class FusedActivationSkippedBackend : ReferenceBackend<double>
    {
        public override string Name => "managed (float64, the fused normalization's activation skipped in backward)";

        public int FusedCalls { get; private set; }

        protected override void Conv2DBatchNormBackwardCore(in Conv2DShape conv, in BatchNormAfter norm, FusedActivation activation, DeviceBuffer input,
            DeviceBuffer kernel, DeviceBuffer? alpha, DeviceBuffer convOutput, DeviceBuffer? preActivation, DeviceBuffer outputGrad,
            DeviceBuffer normalizedGrad, DeviceBuffer? inputGrad, DeviceBuffer kernelGrad, DeviceBuffer? biasGrad, DeviceBuffer? gammaGrad,
            DeviceBuffer? betaGrad, DeviceBuffer? alphaGrad)
        {
            FusedCalls++;
            base.Conv2DBatchNormBackwardCore(conv, norm, FusedActivation.Linear, input, kernel, null, convOutput, null, outputGrad, normalizedGrad,
                inputGrad, kernelGrad, biasGrad, gammaGrad, betaGrad, null);
        }
    }

    [Fact]
    public void The_fused_convolution_normalization_and_activation_is_checked_and_a_backward_without_its_activation_fails()
    {
        // NormalizedNet's first block (Conv2D, BatchNormalization, swish) runs as the fused call.
        var right = ChecksOf(typeof(NormalizedNet));
        using var planted = new FusedActivationSkippedBackend();
        var wrong = Measure(typeof(NormalizedNet), planted);

        Assert.True(planted.FusedCalls > 0, "NormalizedNet's backward made no fused convolution + normalization + activation call");
        var failing = right.Zip(wrong).Where(pair => !pair.First.Agrees(pair.Second.Gradient, out _)).Select(pair => pair.First.Name).ToList();
        Assert.Contains("conv2d.kernel", failing);
        Assert.Contains("batch_normalization.gamma", failing);
        Assert.Contains("batch_normalization.beta", failing);
        Assert.DoesNotContain("dense_1.kernel", failing); // after the block: untouched
    }

    /// <summary>The float64 reference with a planted error in the loss's gradient: 10% too large, as a wrong mean's factor would make it.</summary>
    private sealed class SkewedLossGradientBackend : ReferenceBackend<double>
    {
        public override string Name => "managed (float64, loss gradient 10% off)";

        protected override void LossCore(in LossFunction loss, int batch, int outputs, DeviceBuffer modelOutputs, DeviceBuffer? targets,
            DeviceBuffer predictions, DeviceBuffer? outputsGrad, DeviceBuffer? metrics)
        {
            base.LossCore(loss, batch, outputs, modelOutputs, targets, predictions, outputsGrad, metrics);
            if (outputsGrad is not null)
            {
                foreach (ref double g in Values(outputsGrad))
                    g *= 1.1;
            }
        }
    }

    public static TheoryData<Type> LossModels => new(TestModels.Losses);

    [Theory]
    [MemberData(nameof(LossModels))]
    public void A_loss_gradient_off_by_a_tenth_fails_the_check_of_every_tensor(Type type)
    {
        var right = ChecksOf(type);
        using var planted = new SkewedLossGradientBackend();
        var wrong = Measure(type, planted);

        foreach (var (check, skewed) in right.Zip(wrong))
            Assert.False(check.Agrees(skewed.Gradient, out var report), $"the skewed loss gradient passed: {report}");
    }

    private static double[] Corrupt(double[] gradient, Corruption corruption) => corruption switch
    {
        Corruption.Zeroed => new double[gradient.Length],
        Corruption.Flipped => gradient.Select(g => -g).ToArray(),
        Corruption.Misrouted => gradient.Skip(1).Append(gradient[0]).ToArray(),
        _ => throw new ArgumentOutOfRangeException(nameof(corruption)),
    };

    private static string[] ParameterNames(Type type)
    {
        using var backend = new ManagedBackend();
        using var model = TestModels.Create(type, backend, 1);
        return model.Parameters.Select(p => p.Name).ToArray();
    }

    // The finite differences are the expensive part (two training steps per tensor): both theories share them.
    private static readonly ConcurrentDictionary<Type, Lazy<TensorCheck[]>> Cache = new();

    private static TensorCheck[] ChecksOf(Type type) => Cache.GetOrAdd(type, t => new Lazy<TensorCheck[]>(() => Measure(t))).Value;

    private static TensorCheck[] Measure(Type type)
    {
        using var backend = new ManagedFloat64Backend();
        return Measure(type, backend);
    }

    private static TensorCheck[] Measure(Type type, ReferenceBackend<double> backend)
    {
        using var model = TestModels.Create(type, backend, Batch);
        model.Initialize(11);
        // Keras starts biases at zero and the study's alphas at zero, where every bias of a layer gets the
        // same kind of gradient and a zero alpha hides a wrong sign; start every tensor somewhere generic.
        var parameters = backend.Values(model.ParameterArena);
        var offsets = Det.Doubles(parameters.Length, 23, -0.05, 0.05);
        foreach (var p in model.Parameters)
            for (int i = p.Offset; i < p.Offset + p.Length; i++)
                parameters[i] += offsets[i];
        // Some inputs negative, so that a PReLU on the input itself has something to learn.
        using var input = backend.Allocate(Det.Floats(Batch * model.InputLength, 5, -0.5, 1));
        using var labels = backend.Allocate(Det.Targets(model.Loss, Batch, model.OutputLength));
        using var metrics = backend.Allocate(MetricSlot.Count);

        // The model's loss with its penalties, except that the penalties of tensors whose layers declare them by name are
        // the ones the attributes declare, computed here: a penalty the generated code dropped (from the loss and the
        // gradient alike) still counts in the finite difference, and the check fails.
        var declared = DeclaredPenalties(type);
        double Penalty(bool asDeclared) => model.Parameters.Where(p => declared.ContainsKey(p.Name)).Sum(p =>
        {
            var (l1, l2) = asDeclared ? declared[p.Name] : ((double)(p.Regularizer?.L1 ?? 0), (double)(p.Regularizer?.L2 ?? 0));
            var values = backend.Values(model.ParameterArena).Slice(p.Offset, p.Length).ToArray();
            return values.Sum(w => l1 * Math.Abs(w) + l2 * w * w);
        });
        double Loss()
        {
            backend.Fill(metrics, 0f);
            model.ComputeGradients(input, labels, Batch, TrainingStep, metrics);
            return backend.Values(metrics)[MetricSlot.LossSum] / Batch - Penalty(asDeclared: false) + Penalty(asDeclared: true);
        }

        Loss();
        var gradients = backend.Values(model.GradientArena).ToArray();
        var checks = new List<TensorCheck>();
        foreach (var (p, index) in model.Parameters.Select((p, i) => (p, i)))
        {
            var direction = Det.Doubles(p.Length, 300 + (ulong)index);
            var values = backend.Values(model.ParameterArena).Slice(p.Offset, p.Length);
            var saved = values.ToArray();
            for (int i = 0; i < p.Length; i++)
                values[i] = saved[i] + Step * direction[i];
            double plus = Loss();
            values = backend.Values(model.ParameterArena).Slice(p.Offset, p.Length);
            for (int i = 0; i < p.Length; i++)
                values[i] = saved[i] - Step * direction[i];
            double minus = Loss();
            saved.CopyTo(backend.Values(model.ParameterArena).Slice(p.Offset, p.Length));

            checks.Add(new TensorCheck(p.Name, p.Length, gradients.AsSpan(p.Offset, p.Length).ToArray(), direction, (plus - minus) / (2 * Step)));
        }
        return checks.ToArray();
    }

    /// <summary>
    /// The L1 and L2 factors each named layer's attribute declares for its tensors ("conv.kernel" -> (0.002, 0.004)), read
    /// from the attributes by reflection: the test's own reading, not the generator's. Tensors of unnamed layers are not
    /// listed (their names are the generator's to give).
    /// </summary>
    private static Dictionary<string, (double L1, double L2)> DeclaredPenalties(Type type)
    {
        var roles = new Dictionary<string, string>
        {
            ["KernelRegularizer"] = "kernel", ["BiasRegularizer"] = "bias", ["AlphaRegularizer"] = "alpha",
            ["DepthwiseRegularizer"] = "depthwise_kernel", ["GammaRegularizer"] = "gamma", ["BetaRegularizer"] = "beta",
        };
        var penalties = new Dictionary<string, (double, double)>();
        foreach (var attribute in type.GetCustomAttributes(inherit: false))
        {
            if (attribute.GetType().GetProperty("Name")?.GetValue(attribute) is not string layer)
                continue;
            foreach (var (property, role) in roles)
            {
                if (attribute.GetType().GetProperty(property)?.GetValue(attribute) is string text)
                    penalties[$"{layer}.{role}"] = Factors(text);
            }
        }
        return penalties;

        static (double, double) Factors(string text)
        {
            var match = System.Text.RegularExpressions.Regex.Match(text, @"^(l1|l2|l1_l2)\(([^,]+)(?:,\s*([^)]+))?\)$");
            Assert.True(match.Success, $"the test reads l1(x), l2(x) and l1_l2(x, y), not '{text}'");
            double a = double.Parse(match.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
            return match.Groups[1].Value switch
            {
                "l1" => (a, 0),
                "l2" => (0, a),
                _ => (a, double.Parse(match.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture)),
            };
        }
    }

    [Fact]
    public void The_penalised_model_declares_a_penalty_on_every_kind_of_tensor_by_name()
    {
        var declared = DeclaredPenalties(typeof(PenalisedNet));
        Assert.Equal(["conv.bias", "conv.kernel", "conv_prelu.alpha", "hidden.bias", "hidden.kernel", "hidden_prelu.alpha", "out.bias", "out.kernel"],
            declared.Keys.Order(StringComparer.Ordinal));
        Assert.Contains(declared, p => p.Value.L1 > 0 && p.Value.L2 > 0 && p.Key.EndsWith(".alpha", StringComparison.Ordinal));
    }

    private static double Dot(double[] a, double[] b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++)
            sum += a[i] * b[i];
        return sum;
    }
}
