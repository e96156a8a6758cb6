using Microsoft.CodeAnalysis;

namespace Prelu.Generators.Tests;

/// <summary>Each diagnostic: a faulty model, its ID, where it points and what it says.</summary>
public sealed class DiagnosticTests
{
    private const string Usings = "using Prelu;\n";

    private static string _lastSource = "";

    private static Diagnostic Single(string source, string id)
    {
        _lastSource = Usings + source;
        var (diagnostics, _, _) = GeneratorDriverHarness.Run(_lastSource);
        var matching = diagnostics.Where(d => d.Id == id).ToList();
        Assert.True(matching.Count == 1, $"expected one {id}, got: {string.Join("; ", diagnostics.Select(d => $"{d.Id} {d.GetMessage()}"))}");
        Assert.Equal("Model0.cs", matching[0].Location.GetLineSpan().Path);
        return matching[0];
    }

    /// <summary>The 1-based line of the diagnostic in the source as written (after the using line).</summary>
    private static int Line(Diagnostic diagnostic) => diagnostic.Location.GetLineSpan().StartLinePosition.Line;

    /// <summary>The source text the diagnostic underlines.</summary>
    private static string Text(Diagnostic diagnostic) =>
        _lastSource.Substring(diagnostic.Location.SourceSpan.Start, diagnostic.Location.SourceSpan.Length);

    [Fact]
    public void PRELU001_class_not_partial()
    {
        var d = Single("""
            [InputShape(4)]
            [Dense(2, Activation = "softmax")]
            public class Net { }
            """, "PRELU001");
        Assert.Equal(3, Line(d));
        Assert.Equal("Net", Text(d));
        Assert.Contains("'Net' must be declared partial", d.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void PRELU002_layers_without_an_input_shape()
    {
        var d = Single("""
            [Conv2D(8, 3)]
            [Flatten]
            [Dense(2, Activation = "softmax")]
            public partial class Net;
            """, "PRELU002");
        Assert.Equal(4, Line(d));
        Assert.Contains("[InputShape(28, 28, 1)]", d.GetMessage(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[PReLU]")]
    [InlineData("[Conv2D(8, 3)]\n[MaxPooling2D(2)]")]
    [InlineData("[Flatten]\n[Dropout(0.5)]\n[ReLU]\n[LeakyReLU]")]
    public void PRELU002_whatever_the_layers_once_per_class(string layers)
    {
        var d = Single($"{layers}\npublic partial class Net;\n", "PRELU002");
        Assert.Equal("Net", Text(d));
    }

    [Theory]
    [InlineData("28, 28")]
    [InlineData("28, 0, 1")]
    public void PRELU003_an_input_shape_of_the_wrong_rank_or_size(string shape)
    {
        var d = Single($$"""
            [InputShape({{shape}})]
            [Dense(2, Activation = "softmax")]
            public partial class Net;
            """, "PRELU003");
        Assert.Equal(1, Line(d));
        Assert.Contains($"Input shape ({shape}) of 'Net'", d.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void PRELU004_a_kernel_larger_than_its_map()
    {
        var d = Single("""
            [InputShape(28, 28, 1)]
            [Conv2D(8, 3)]
            [MaxPooling2D(2)]
            [Conv2D(8, 5)]
            [Conv2D(8, 10)]
            [Flatten]
            [Dense(2, Activation = "softmax")]
            public partial class Net;
            """, "PRELU004");
        Assert.Equal(5, Line(d));
        Assert.Equal("Conv2D(8, 10)", Text(d));
        Assert.Equal("Layer 'conv2d_2': a 10x10 kernel does not fit its 9x9 input with 'valid' padding", d.GetMessage());
    }

    [Fact]
    public void PRELU004_pooling_to_nothing()
    {
        var d = Single("""
            [InputShape(3, 3, 1)]
            [MaxPooling2D(4)]
            [Flatten]
            [Dense(2, Activation = "softmax")]
            public partial class Net;
            """, "PRELU004");
        Assert.Equal(2, Line(d));
        Assert.Equal("Layer 'max_pooling2d': a 4x4 pool reduces its 3x3 input to nothing with 'valid' padding", d.GetMessage());
    }

    [Fact]
    public void PRELU005_shared_axes_out_of_range()
    {
        var d = Single("""
            [InputShape(28, 28, 1)]
            [Conv2D(8, 3)]
            [PReLU(SharedAxes = [1, 4])]
            [Flatten]
            [Dense(2, Activation = "softmax")]
            public partial class Net;
            """, "PRELU005");
        Assert.Equal(3, Line(d));
        Assert.Equal("Layer 'p_re_lu': shared axis 4 is outside 1..3 for its input of shape (batch, 26, 26, 8)", d.GetMessage());
    }

    [Theory]
    [InlineData("[Loss(\"mean_square_error\")]", "'mean_square_error' is not a loss; Keras's names are categorical_crossentropy, sparse_categorical_crossentropy, " +
        "binary_crossentropy, mean_squared_error (or mse), mean_absolute_error (or mae), huber")]
    [InlineData("[Loss(\"huber\", Delta = 0)]", "Huber's Delta must be a positive number; it is 0")]
    [InlineData("[Loss(\"huber\", Delta = -1.5)]", "Huber's Delta must be a positive number; it is -1.5")]
    [InlineData("[Loss(\"mse\", Delta = 2)]", "Delta is Huber's; mean_squared_error takes none")]
    public void PRELU023_a_loss_that_cannot_be_used(string loss, string problem)
    {
        var d = Single($"""
            [InputShape(4)]
            {loss}
            [Dense(3)]
            public partial class Net;
            """, "PRELU023");
        Assert.Equal(2, Line(d)); // the [Loss] attribute's line
        Assert.Equal($"Model 'Net': {problem}", d.GetMessage());
    }

    [Theory]
    [InlineData("[Dense(3)]", "Dense(3) with activation 'linear'")]
    [InlineData("[Dense(3, Activation = \"softmax\")]", "Dense(3) with activation 'softmax'")]
    [InlineData("[Dense(3, Activation = \"relu\")]\n[Activation(\"sigmoid\")]", "Activation 'activation'")]
    public void PRELU024_an_output_that_cannot_feed_binary_cross_entropy(string last, string what)
    {
        var d = Single($"""
            [InputShape(4)]
            [Loss("binary_crossentropy")]
            {last}
            public partial class Net;
            """, "PRELU024");
        Assert.Equal($"Model 'Net': with binary_crossentropy the last layer must be Dense with Activation = \"sigmoid\" (a unit per label), " +
            $"or an Activation(\"sigmoid\") after a Dense layer without an activation; it is {what}", d.GetMessage());
    }

    [Theory]
    [InlineData("mean_squared_error", "[Dense(3, Activation = \"softmax\")]", 3)]
    [InlineData("huber", "[Dense(3)]\n[Activation(\"softmax\")]", 4)]
    public void PRELU025_a_softmax_output_without_a_categorical_cross_entropy(string loss, string last, int line)
    {
        var d = Single($"""
            [InputShape(4)]
            [Loss("{loss}")]
            {last}
            public partial class Net;
            """, "PRELU025");
        Assert.Equal(line, Line(d)); // the output layer's line
        Assert.StartsWith($"Model 'Net': the output's softmax is computed by the categorical cross-entropies only, and the model trains with {loss}; ", d.GetMessage(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[Conv2D(2, 1, Name = \"first\")]\n[Normalization]", 3, "Layer 'normalization': it reads a layer; Normalization reads the model's input")]
    [InlineData("[Normalization(Axis = 1)]", 2, "Layer 'normalization': axis is 1; Normalization is supported over the last axis (-1, the features)")]
    public void PRELU012_a_normalization_that_does_not_read_the_input_or_its_last_axis(string layers, int line, string message)
    {
        var d = Single($"""
            [InputShape(4, 4, 2)]
            {layers}
            [Flatten]
            [Dense(3, Activation = "softmax")]
            public partial class Net;
            """, "PRELU012");
        Assert.Equal(line, Line(d));
        Assert.StartsWith(message, d.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void PRELU006_names_the_loss_when_class_indices_meet_a_sigmoid_output()
    {
        var d = Single("""
            [InputShape(4)]
            [Loss("sparse_categorical_crossentropy")]
            [Dense(3, Activation = "sigmoid")]
            public partial class Net;
            """, "PRELU006");
        Assert.Equal(3, Line(d));
        Assert.Contains("to feed sparse_categorical_crossentropy; it is Dense(3) with activation 'sigmoid'", d.GetMessage(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[Dense(10)]", "Dense(10) with activation 'linear'")]
    [InlineData("[Dense(1, Activation = \"softmax\")]", "Dense(1) with activation 'softmax'")]
    [InlineData("[Dense(10, Activation = \"softmax\")]\n[PReLU]", "PReLU 'p_re_lu'")]
    public void PRELU006_an_output_that_cannot_feed_cross_entropy(string last, string what)
    {
        var d = Single($"""
            [InputShape(16)]
            {last}
            public partial class Net;
            """, "PRELU006");
        Assert.Contains("the last layer must be Dense with Activation = \"softmax\" and at least 2 units (or an Activation(\"softmax\") after such a layer " +
            $"without an activation), to feed categorical_crossentropy; it is {what}", d.GetMessage(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("KernelInitializer = \"glorot\"", "kernel_initializer 'glorot' is not an initializer (unknown name)")]
    [InlineData("KernelInitializer = \"constant(1, 2)\"", "constant takes at most 1 argument(s) (value), got 2")]
    [InlineData("BiasInitializer = \"random_normal(mean=0, std=1)\"", "random_normal has no argument 'std'")]
    public void PRELU007_unknown_initializer(string argument, string message)
    {
        var d = Single($$"""
            [InputShape(16)]
            [Dense(8, {{argument}})]
            [Dense(2, Activation = "softmax")]
            public partial class Net;
            """, "PRELU007");
        Assert.Equal(2, Line(d));
        Assert.Contains(message, d.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void PRELU008_duplicate_layer_names()
    {
        var d = Single("""
            [InputShape(16)]
            [Dense(8, Name = "hidden")]
            [Dense(8, Name = "hidden")]
            [Dense(2, Activation = "softmax")]
            public partial class Net;
            """, "PRELU008");
        Assert.Equal(3, Line(d));
        Assert.Equal("Layer name 'hidden' is used by layer 1 and again by layer 2; names must be unique (they name parameters in checkpoints)", d.GetMessage());
    }

    [Fact]
    public void PRELU008_an_explicit_name_that_collides_with_an_automatic_one()
    {
        var d = Single("""
            [InputShape(16)]
            [Dense(8)]
            [Dense(8, Name = "dense")]
            [Dense(2, Activation = "softmax")]
            public partial class Net;
            """, "PRELU008");
        Assert.Contains("'dense' is used by layer 1 and again by layer 2", d.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void PRELU009_unknown_activation()
    {
        var d = Single("""
            [InputShape(16)]
            [Dense(8, Activation = "mish")]
            [Dense(2, Activation = "softmax")]
            public partial class Net;
            """, "PRELU009");
        Assert.Equal(2, Line(d));
        Assert.Contains("Layer 'dense': activation 'mish' is not supported here", d.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void PRELU010_unknown_padding()
    {
        var d = Single("""
            [InputShape(28, 28, 1)]
            [Conv2D(8, 3, Padding = "full")]
            [Flatten]
            [Dense(2, Activation = "softmax")]
            public partial class Net;
            """, "PRELU010");
        Assert.Equal("Layer 'conv2d': padding 'full' is not 'valid' or 'same'", d.GetMessage());
    }

    [Fact]
    public void PRELU011_dense_on_a_map_without_flatten()
    {
        var d = Single("""
            [InputShape(28, 28, 1)]
            [Conv2D(8, 3)]
            [Dense(2, Activation = "softmax")]
            public partial class Net;
            """, "PRELU011");
        Assert.Equal(3, Line(d));
        Assert.Equal("Layer 'dense' (Dense) needs a flat (features) input, but gets shape (batch, 26, 26, 8); put [Flatten] before it", d.GetMessage());
    }

    [Fact]
    public void PRELU011_a_convolution_after_flatten()
    {
        var d = Single("""
            [InputShape(28, 28, 1)]
            [Flatten]
            [Conv2D(8, 3)]
            [Dense(2, Activation = "softmax")]
            public partial class Net;
            """, "PRELU011");
        Assert.Contains("needs a (height, width, channels) map, but gets shape (batch, 784); Conv2D cannot follow Flatten or Dense", d.GetMessage(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[Conv2D(0, 3)]", "filters is 0; a convolution needs at least 1 filter")]
    [InlineData("[Dropout(1.5)]", "rate is 1.5; it must be at least 0 and below 1")]
    [InlineData("[Conv2D(8, 3, 3, 3)]", "kernel_size needs one size or two (height, width); got 3")]
    [InlineData("[Conv2D(8, 3, Strides = [0])]", "strides (0) must be at least 1")]
    public void PRELU012_invalid_arguments(string layer, string message)
    {
        var d = Single($"""
            [InputShape(28, 28, 1)]
            {layer}
            [Flatten]
            [Dense(2, Activation = "softmax")]
            public partial class Net;
            """, "PRELU012");
        Assert.Equal(2, Line(d));
        Assert.Contains(message, d.GetMessage(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("KernelRegularizer = \"l3(0.1)\"", "kernel_regularizer 'l3(0.1)' is not valid (unknown regularizer)")]
    [InlineData("KernelRegularizer = \"l2(-1)\"", "l2 factor -1 must not be negative")]
    [InlineData("KernelConstraint = \"max_norm(2, axis=[0, 5])\"", "axis [0, 5] is outside a parameter of rank 2")]
    [InlineData("BiasConstraint = \"positive\"", "bias_constraint 'positive' is not valid (unknown constraint)")]
    public void PRELU013_unknown_regularizer_or_constraint(string argument, string message)
    {
        var d = Single($$"""
            [InputShape(16)]
            [Dense(8, {{argument}})]
            [Dense(2, Activation = "softmax")]
            public partial class Net;
            """, "PRELU013");
        Assert.Contains(message, d.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void PRELU014_softmax_before_the_output()
    {
        var d = Single("""
            [InputShape(16)]
            [Dense(8, Activation = "softmax")]
            [Dense(2, Activation = "softmax")]
            public partial class Net;
            """, "PRELU014");
        Assert.Equal(2, Line(d));
        Assert.Contains("Layer 'dense': softmax is only supported on the last layer", d.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void PRELU015_no_layers()
    {
        var d = Single("""
            [InputShape(16)]
            public partial class Net;
            """, "PRELU015");
        Assert.Equal(2, Line(d));
        Assert.Contains("Model 'Net' has an input shape but no layers", d.GetMessage(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("public partial class Outer { [InputShape(4)] [Dense(2, Activation = \"softmax\")] public partial class Net; }", "is nested in another type")]
    [InlineData("[InputShape(4)] [Dense(2, Activation = \"softmax\")] public partial class Net<T>;", "is generic")]
    [InlineData("public class Base; [InputShape(4)] [Dense(2, Activation = \"softmax\")] public partial class Net : Base;", "derives from Base")]
    public void PRELU016_unsupported_classes(string source, string message)
    {
        var d = Single(source, "PRELU016");
        Assert.Equal("Net", Text(d));
        Assert.Contains(message, d.GetMessage(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[InputShape(100000)] [Dense(100000)] [Dense(10, Activation = \"softmax\")]",
        "Layer 'dense': its kernel holds 10,000,000,000 floats, more than the 2,147,483,591 one buffer can address")]
    [InlineData("[InputShape(50000, 50000, 2)] [Flatten] [Dense(10, Activation = \"softmax\")]",
        "Layer 'flatten': its output holds 5,000,000,000 floats")]
    [InlineData("[InputShape(30000, 30000, 3)] [Conv2D(8, 3, Padding = \"same\")] [Flatten] [Dense(10, Activation = \"softmax\")]",
        "Layer 'conv2d': its output holds 7,200,000,000 floats")]
    [InlineData("[InputShape(40000)] [Dense(40000)] [Dense(40000)] [Dense(10, Activation = \"softmax\")]",
        "Model 'Net': its parameter arena holds 3,200,")]
    public void PRELU017_sizes_past_what_a_buffer_holds_are_counted_in_64_bits_and_reported(string layers, string message)
    {
        var (diagnostics, sources, _) = GeneratorDriverHarness.Run(Usings + layers + " public partial class Net;");
        var d = Assert.Single(diagnostics);
        Assert.Equal("PRELU017", d.Id);
        Assert.Contains(message, d.GetMessage(), StringComparison.Ordinal);
        Assert.Empty(sources); // no code with negative constants
    }

    [Fact]
    public void A_sound_model_has_no_diagnostics_and_its_generated_code_compiles()
    {
        var (diagnostics, sources, errors) = GeneratorDriverHarness.Run(Usings + """
            namespace Users.Models;
            [InputShape(28, 28, 1)]
            [Conv2D(32, 3)]
            [PReLU(SharedAxes = [1, 2], AlphaInitializer = "constant(0.25)", AlphaConstraint = "non_neg")]
            [MaxPooling2D(2)]
            [Dropout(0.25)]
            [Flatten]
            [Dense(64, Activation = "relu", KernelRegularizer = "l1_l2(0.01, 0.02)")]
            [Dense(10, Activation = "softmax")]
            internal partial class Net;
            """);

        Assert.Empty(diagnostics);
        Assert.Empty(errors);
        Assert.Single(sources);
        Assert.Contains("internal partial class Net : global::Prelu.CompiledModel", sources[0], StringComparison.Ordinal);
    }

    [Fact]
    public void The_generated_code_is_deterministic()
    {
        const string source = Usings + """
            [InputShape(28, 28, 1)]
            [Conv2D(8, 3)]
            [PReLU]
            [Flatten]
            [Dense(10, Activation = "softmax")]
            public partial class Net;
            """;
        var first = GeneratorDriverHarness.Run(source).Sources.Single();
        var second = GeneratorDriverHarness.Run(source).Sources.Single();
        Assert.Equal(first, second);
    }
}
