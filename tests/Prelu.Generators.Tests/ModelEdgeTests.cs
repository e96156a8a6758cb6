using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;
using Prelu.Generators.Diagnostics;
using Prelu.Generators.Model;
using Prelu.Tests.Shared;

namespace Prelu.Generators.Tests;

/// <summary>
/// The edges of what the generator accepts: the smallest sizes that fit (a kernel exactly as large as
/// its map, one filter, one unit, a rate of 0) compile; each argument one step past them is exactly one
/// diagnostic, with nothing cascading after it; the less common arguments (two strides, no bias, names
/// that start with a digit, penalties on alphas and biases) reach the generated code.
/// </summary>
public sealed class ModelEdgeTests
{
    private static string Generated(string model)
    {
        var (diagnostics, sources, errors) = GeneratorDriverHarness.Run("using Prelu;\n" + model);
        Assert.True(diagnostics.IsEmpty, string.Join("; ", diagnostics.Select(d => $"{d.Id} {d.GetMessage()}")));
        Assert.True(errors.IsEmpty, string.Join("; ", errors.Select(d => $"{d.Id} {d.GetMessage()}")));
        return Assert.Single(sources);
    }

    private static Diagnostic Only(string model, string id, string fragment)
    {
        var (diagnostics, sources, _) = GeneratorDriverHarness.Run("using Prelu;\n" + model);
        var diagnostic = Assert.Single(diagnostics);
        Assert.Equal(id, diagnostic.Id);
        Assert.Contains(fragment, diagnostic.GetMessage(), StringComparison.Ordinal);
        Assert.Empty(sources); // a model with an error gets no code
        return diagnostic;
    }

    [Fact]
    public void An_inference_only_model_gets_no_backward_code_and_no_gradient_buffers()
    {
        const string layers = """
            [InputShape(6, 6, 1)]
            [Conv2D(2, 3)]
            [BatchNormalization]
            [ReLU]
            [Flatten]
            [Dense(3, Activation = "softmax")]
            public partial class Net;
            """;
        var trainable = Generated(layers);
        var predicting = Generated("[InferenceOnly]\n" + layers);
        Assert.Contains("backend.Conv2DBatchNormBackward(", trainable, StringComparison.Ordinal); // the convolution, its normalization and the ReLU: one call
        Assert.Contains("GradientArena.Slice(", trainable, StringComparison.Ordinal);
        Assert.DoesNotContain("Backward(p.", predicting, StringComparison.Ordinal);
        Assert.DoesNotContain("GradientArena", predicting, StringComparison.Ordinal);
        Assert.DoesNotContain("Grad = arena.Slice", predicting, StringComparison.Ordinal);
        Assert.Contains("StateArenaLength, trainable: false)", predicting, StringComparison.Ordinal);
        Assert.Contains("is declared [InferenceOnly]: it has no backward pass", predicting, StringComparison.Ordinal);
    }

    [Fact]
    public void The_smallest_sizes_that_fit_compile()
    {
        var source = Generated("""
            [InputShape(3, 3, 1)]
            [Conv2D(1, 3)]
            [Dropout(0)]
            [Flatten]
            [Dense(1)]
            [Dense(2, Activation = "softmax")]
            public partial class Smallest;
            """);

        Assert.Matches(@"conv2d \(Conv2D\) +\(None, 1, 1, 1\)", source);
        Assert.Matches(@"dense \(Dense\) +\(None, 1\) ", source);
        Assert.Contains("public const int OutputSampleLength = 2;", source, StringComparison.Ordinal);
    }

    [Fact]
    public void A_pool_as_large_as_its_map_leaves_one_cell_and_pools_by_two_by_default()
    {
        var source = Generated("""
            [InputShape(2, 2, 3)]
            [MaxPooling2D]
            [Flatten]
            [Dense(2, Activation = "softmax")]
            public partial class Pooled;
            """);

        Assert.Contains("(None, 1, 1, 3)", source, StringComparison.Ordinal);
        Assert.Contains("new(batch, 2, 2, 3, 2, 2, 2, 2, global::Prelu.Kernels.Padding.Valid)", source, StringComparison.Ordinal);
    }

    [Fact]
    public void Two_strides_count_separately_for_height_and_width()
    {
        var source = Generated("""
            [InputShape(5, 5, 1)]
            [Conv2D(2, 3, Strides = [1, 2])]
            [MaxPooling2D(1, Strides = [2, 1])]
            [Flatten]
            [Dense(2, Activation = "softmax")]
            public partial class Strided;
            """);

        Assert.Matches(@"conv2d \(Conv2D\) +\(None, 3, 2, 2\)", source);
        Assert.Contains("new(batch, 5, 5, 1, 2, 3, 3, 1, 2, global::Prelu.Kernels.Padding.Valid)", source, StringComparison.Ordinal);
        Assert.Contains("(None, 2, 2, 2)", source, StringComparison.Ordinal);
        Assert.Contains("new(batch, 3, 2, 2, 1, 1, 2, 1, global::Prelu.Kernels.Padding.Valid)", source, StringComparison.Ordinal);
    }

    [Fact]
    public void A_layer_without_a_bias_has_no_bias_parameter_and_its_bias_arguments_are_not_checked()
    {
        var source = Generated("""
            [InputShape(4, 4, 1)]
            [Conv2D(2, 3, UseBias = false, BiasInitializer = "no such thing")]
            [Flatten]
            [Dense(2, Activation = "softmax", UseBias = false)]
            public partial class NoBias;
            """);

        Assert.DoesNotContain(".bias\"", source, StringComparison.Ordinal);
        Assert.Contains("backend.Conv2DForward(p.Conv2d, p.Conv2dActivation, input, _conv2dKernel, null, null, null, p.Conv2dY);", source, StringComparison.Ordinal);
        Assert.Contains("_conv2dKernelGrad, null, null);", source, StringComparison.Ordinal);
        Assert.Contains("Total params: 34", source, StringComparison.Ordinal); // 3*3*1*2 + 8*2
    }

    [Fact]
    public void Penalties_and_constraints_on_alphas_and_biases_reach_the_parameter_list()
    {
        var source = Generated("""
            [InputShape(6)]
            [Dense(4, BiasRegularizer = "l1(0.2)", BiasConstraint = "non_neg", Name = "1st")]
            [PReLU(AlphaRegularizer = "l2(0.1)", AlphaConstraint = "max_norm(1, axis=0)")]
            [Dense(2, Activation = "softmax")]
            public partial class Penalised;
            """);

        Assert.Contains("new(\"1st.bias\", [4], 32, new global::Prelu.Initializers.Zeros(), new global::Prelu.Kernels.Regularizer(0.2f, 0f), global::Prelu.Kernels.Constraint.NonNeg)",
            source, StringComparison.Ordinal);
        Assert.Contains("new global::Prelu.Kernels.Regularizer(0f, 0.1f), global::Prelu.Kernels.Constraint.MaxNorm(1f, 0))", source, StringComparison.Ordinal);
        Assert.Contains("_layer1stKernel", source, StringComparison.Ordinal); // a C# name for a layer named "1st"
    }

    [Fact]
    public void An_activation_layer_fuses_only_into_a_linear_layer_before_it()
    {
        var source = Generated("""
            [InputShape(6)]
            [Dense(4, Activation = "relu")]
            [PReLU]
            [Dense(4)]
            [ReLU]
            [Dense(4, Activation = "leaky_relu")]
            [Dense(2, Activation = "softmax")]
            public partial class Activations;
            """);

        Assert.Contains("DenseActivation = global::Prelu.Kernels.FusedActivation.Relu;", source, StringComparison.Ordinal);
        Assert.Contains("backend.ActivationForward(p.PReLuActivation, p.DenseY, _pReLuAlpha, p.PReLuY);", source, StringComparison.Ordinal); // a step of its own
        Assert.Contains("Dense1Activation = global::Prelu.Kernels.FusedActivation.Relu;", source, StringComparison.Ordinal); // [ReLU] fused
        Assert.DoesNotContain("p.ReLuActivation", source, StringComparison.Ordinal);
        Assert.Contains("Dense2Activation = global::Prelu.Kernels.FusedActivation.Leaky(0.2f);", source, StringComparison.Ordinal); // Keras's leaky_relu slope
        Assert.Contains("Dense3Activation = global::Prelu.Kernels.FusedActivation.Linear;", source, StringComparison.Ordinal); // softmax goes with the loss
    }

    public static TheoryData<string, string, string> OneStepTooFar => new()
    {
        { "[InputShape(4, 4, 1)] [Conv2D(0, 3)] [Flatten] [Dense(2, Activation = \"softmax\")]", "PRELU012", "filters is 0; a convolution needs at least 1 filter" },
        { "[InputShape(4, 4, 1)] [Conv2D(2, 0)] [Flatten] [Dense(2, Activation = \"softmax\")]", "PRELU012", "kernel_size (0) must be at least 1" },
        { "[InputShape(4, 4, 1)] [Conv2D(2, 3, Strides = [1, 2, 3])] [Flatten] [Dense(2, Activation = \"softmax\")]", "PRELU012", "strides needs one size or two (height, width); got 3" },
        { "[InputShape(4, 4, 1)] [Conv2D(2, 5)] [Flatten] [Dense(2, Activation = \"softmax\")]", "PRELU004", "a 5x5 kernel does not fit its 4x4 input" },
        { "[InputShape(4, 4, 1)] [Conv2D(2, 3, Activation = \"softmax\")] [Flatten] [Dense(2, Activation = \"softmax\")]", "PRELU009", "use 'linear', 'relu', 'leaky_relu', 'sigmoid', 'tanh', 'elu', 'selu', 'gelu', 'softplus', 'swish', 'silu'" },
        { "[InputShape(4, 4, 1)] [Conv2D(2, 3, KernelInitializer = \"bogus\")] [Flatten] [Dense(2, Activation = \"softmax\")]", "PRELU007", "kernel_initializer 'bogus'" },
        { "[InputShape(4, 4, 1)] [Conv2D(2, 3, BiasRegularizer = \"bogus\")] [Flatten] [Dense(2, Activation = \"softmax\")]", "PRELU013", "bias_regularizer 'bogus'" },
        { "[InputShape(4, 4, 1)] [MaxPooling2D(0)] [Flatten] [Dense(2, Activation = \"softmax\")]", "PRELU012", "pool_size (0) must be at least 1" },
        { "[InputShape(4, 4, 1)] [MaxPooling2D(2, Strides = [0, 1])] [Flatten] [Dense(2, Activation = \"softmax\")]", "PRELU012", "strides (0, 1) must be at least 1" },
        { "[InputShape(4, 4, 1)] [MaxPooling2D(5)] [Flatten] [Dense(2, Activation = \"softmax\")]", "PRELU004", "a 5x5 pool reduces its 4x4 input to nothing" },
        { "[InputShape(4, 4, 1)] [Flatten] [MaxPooling2D(2)] [Dense(2, Activation = \"softmax\")]", "PRELU011", "; MaxPooling2D cannot follow Flatten or Dense" },
        { "[InputShape(4)] [Dropout(1.0)] [Dense(2, Activation = \"softmax\")]", "PRELU012", "rate is 1; it must be at least 0 and below 1" },
        { "[InputShape(4)] [Dropout(-0.1)] [Dense(2, Activation = \"softmax\")]", "PRELU012", "rate is -0.1; it must be at least 0 and below 1" },
        { "[InputShape(4)] [Dense(0)] [Dense(2, Activation = \"softmax\")]", "PRELU012", "units is 0; a dense layer needs at least 1 unit" },
        { "[InputShape(4, 4, 2)] [BatchNormalization(Axis = 1)] [Flatten] [Dense(2, Activation = \"softmax\")]", "PRELU018", "axis 1 of an input of shape (batch, 4, 4, 2) is not the last axis" },
        { "[InputShape(4)] [BatchNormalization(Momentum = 1.5)] [Dense(2, Activation = \"softmax\")]", "PRELU012", "momentum is 1.5; it must be in [0, 1]" },
        { "[InputShape(4)] [BatchNormalization(Epsilon = 0)] [Dense(2, Activation = \"softmax\")]", "PRELU012", "epsilon is 0; it must be a positive number" },
        { "[InputShape(4)] [BatchNormalization(GammaInitializer = \"glorot\")] [Dense(2, Activation = \"softmax\")]", "PRELU007", "gamma_initializer" },
        { "[InputShape(4, 4, 1)] [Flatten] [GlobalAveragePooling2D] [Dense(2, Activation = \"softmax\")]", "PRELU011", "GlobalAveragePooling2D cannot follow Flatten or Dense" },
        { "[InputShape(4)] [GlobalMaxPooling2D] [Dense(2, Activation = \"softmax\")]", "PRELU011", "GlobalMaxPooling2D cannot follow Flatten or Dense" },
        { "[InputShape(4, 4, 1)] [AveragePooling2D(5)] [Flatten] [Dense(2, Activation = \"softmax\")]", "PRELU004", "a 5x5 pool reduces its 4x4 input to nothing" },
        { "[InputShape(4)] [Activation(\"mish\")] [Dense(2, Activation = \"softmax\")]", "PRELU009", "activation 'mish' is not supported here" },
        { "[InputShape(4)] [Activation(\"softmax\")] [Dense(2, Activation = \"softmax\")]", "PRELU014", "softmax is only supported on the last layer" },
        { "[InputShape(4)] [Dense(3, Activation = \"relu\")] [Activation(\"softmax\")]", "PRELU006", "Activation 'activation'" },
        { "[InputShape(4)] [Dense(3, Activation = \"hard_sigmoid\")] [Dense(2, Activation = \"softmax\")]", "PRELU009", "'swish', 'silu', or 'softmax' on the output layer" },
        { "[InputShape(4)] [Dense(3, KernelConstraint = \"max_norm(axis=2)\")] [Dense(2, Activation = \"softmax\")]", "PRELU013", "kernel_constraint 'max_norm(axis=2)' is not valid (max_norm axis [2] is outside a parameter of rank 2)" },
        { "[InputShape(4)] [Dense(3, BiasInitializer = \"bogus\")] [Dense(2, Activation = \"softmax\")]", "PRELU007", "bias_initializer 'bogus'" },
        { "[InputShape(2, 2, 3)] [PReLU(SharedAxes = [1, 1])] [Flatten] [Dense(2, Activation = \"softmax\")]", "PRELU012", "shared_axes [1, 1] lists an axis twice" },
        { "[InputShape(4)] [PReLU(AlphaInitializer = \"bogus\")] [Dense(2, Activation = \"softmax\")]", "PRELU007", "alpha_initializer 'bogus'" },
        { "[InputShape(4)] [PReLU(AlphaRegularizer = \"bogus\")] [Dense(2, Activation = \"softmax\")]", "PRELU013", "alpha_regularizer 'bogus'" },
        { "[InputShape(2, 2, 3)] [PReLU(AlphaConstraint = \"unit_norm(axis=3)\")] [Flatten] [Dense(2, Activation = \"softmax\")]", "PRELU013", "alpha_constraint 'unit_norm(axis=3)' is not valid (unit_norm axis [3] is outside a parameter of rank 3)" },
        { "[InputShape(4)] [LeakyReLU(Alpha = double.NaN)] [Dense(2, Activation = \"softmax\")]", "PRELU012", "alpha must be a finite number" },
        { "[InputShape(4)] [LeakyReLU(Alpha = double.PositiveInfinity)] [Dense(2, Activation = \"softmax\")]", "PRELU012", "alpha must be a finite number" },
        { "[InputShape(4)] [Dense(1, Activation = \"softmax\")]", "PRELU006", "it is Dense(1) with activation 'softmax'" },
    };

    [Theory]
    [MemberData(nameof(OneStepTooFar))]
    public void One_step_past_an_edge_is_exactly_one_diagnostic(string layers, string id, string fragment) =>
        Only(layers + "\npublic partial class Net;", id, fragment);

    [Fact]
    public void The_output_diagnostic_points_at_the_last_layer()
    {
        var d = Only("""
            [InputShape(4)]
            [Dense(3)]
            [Dense(1, Activation = "softmax")]
            public partial class Net;
            """, "PRELU006", "Model 'Net'");

        Assert.Equal(3, d.Location.GetLineSpan().StartLinePosition.Line);
    }

    [Fact]
    public void A_cancelled_build_stops_with_the_cancellation()
    {
        var compilation = GeneratorDriverHarness.Compilation(File.ReadAllText(Path.Combine(Readme.RepositoryRoot(), "tests/Shared/Models.cs")));
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        Assert.ThrowsAny<OperationCanceledException>(() => GeneratorDriverHarness.Driver().RunGenerators(compilation, cancelled.Token));
    }

    [Fact]
    public void Every_diagnostic_is_listed_in_the_release_notes_with_its_title()
    {
        var descriptors = typeof(DiagnosticDescriptors).GetFields()
            .Select(f => (DiagnosticDescriptor)f.GetValue(null)!).OrderBy(d => d.Id, StringComparer.Ordinal).ToList();
        var release = File.ReadAllLines(Path.Combine(Readme.RepositoryRoot(), "src/Prelu.Generators/AnalyzerReleases.Unshipped.md"))
            .Where(line => line.StartsWith("PRELU", StringComparison.Ordinal))
            .Select(line => line.Split('|').Select(cell => cell.Trim()).ToArray()).ToList();

        Assert.Equal(25, descriptors.Count);
        Assert.Equal(descriptors.Select(d => d.Id), release.Select(r => r[0]));
        foreach (var (descriptor, row) in descriptors.Zip(release))
        {
            Assert.Equal([descriptor.Id, descriptor.Category, descriptor.DefaultSeverity.ToString(), descriptor.Title.ToString()], row);
            Assert.NotEmpty(descriptor.MessageFormat.ToString());
            Assert.True(descriptor.IsEnabledByDefault);
        }
    }

    [Fact]
    public void Equatable_arrays_compare_and_hash_by_content()
    {
        var a = new[] { "x", "y" }.ToEquatableArray();
        var b = new[] { "x", "y" }.ToEquatableArray();
        var c = new[] { "y", "x" }.ToEquatableArray();
        EquatableArray<string> unset = default;

        Assert.True(a == b);
        Assert.False(a != b);
        Assert.True(a != c);
        Assert.True(a.Equals((object)b));
        Assert.False(a.Equals((object)c));
        Assert.False(a.Equals("x"));
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a.GetHashCode(), c.GetHashCode());
        Assert.Equal(0, unset.Count);
        Assert.Empty(unset);
        Assert.True(unset == EquatableArray<string>.Empty);
        Assert.Equal(2, a.Count);
        Assert.Equal("y", a[1]);
    }

    [Fact]
    public void Locations_without_a_source_file_are_none()
    {
        Assert.Null(LocationInfo.From((SyntaxNode?)null));
        Assert.Null(LocationInfo.From(Location.None));
        var tree = Microsoft.CodeAnalysis.CSharp.CSharpSyntaxTree.ParseText("class C { }", path: "C.cs");
        var info = LocationInfo.From(tree.GetRoot());
        Assert.Equal("C.cs", info!.FilePath);
        Assert.Equal(new TextSpan(0, 11), info.Span);
    }
}
