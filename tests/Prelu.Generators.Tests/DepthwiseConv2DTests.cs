using Microsoft.CodeAnalysis;

namespace Prelu.Generators.Tests;

/// <summary>
/// DepthwiseConv2D as the generator reads it: Keras's arguments and names (depthwise_kernel, depthwise_initializer),
/// its shape arithmetic, its checks, and an activation layer fused into its call.
/// </summary>
public sealed class DepthwiseConv2DTests
{
    private const string Usings = "using Prelu;\n";

    [Fact]
    public void Its_kernel_is_named_and_shaped_as_keras_names_and_shapes_it()
    {
        var (diagnostics, sources, _) = GeneratorDriverHarness.Run(Usings + """
            [InputShape(8, 8, 3)]
            [DepthwiseConv2D(3, DepthMultiplier = 2, Strides = [2], Padding = "same")]
            [ReLU]
            [Flatten]
            [Dense(2, Activation = "softmax")]
            public partial class Net;
            """);
        Assert.Empty(diagnostics);
        var source = sources.Single();
        Assert.Contains("new(\"depthwise_conv2d.depthwise_kernel\", [3, 3, 3, 2]", source, StringComparison.Ordinal);
        Assert.Contains("new(\"depthwise_conv2d.bias\", [6]", source, StringComparison.Ordinal);
        Assert.Contains(" depthwise_conv2d (DepthwiseConv2D) (None, 4, 4, 6)           60", source, StringComparison.Ordinal); // 54 + 6
        Assert.Contains("Total params: 254", source, StringComparison.Ordinal); // and the dense layer's 96 x 2 + 2
        Assert.Contains("DepthwiseConv2d = new(batch, 8, 8, 3, 2, 3, 3, 2, 2, global::Prelu.Kernels.Padding.Same);", source, StringComparison.Ordinal);
        Assert.Contains("DepthwiseConv2dActivation = global::Prelu.Kernels.FusedActivation.Relu;", source, StringComparison.Ordinal); // [ReLU] fused
        Assert.Contains("backend.DepthwiseConv2DForward(p.DepthwiseConv2d, p.DepthwiseConv2dActivation, input,", source, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[DepthwiseConv2D(3, DepthMultiplier = 0)]", "PRELU012", "depth_multiplier is 0; each channel needs at least 1 kernel")]
    [InlineData("[DepthwiseConv2D(9)]", "PRELU004", "a 9x9 kernel does not fit its 8x8 input with 'valid' padding")]
    [InlineData("[DepthwiseConv2D(3, DepthwiseInitializer = \"glorot\")]", "PRELU007", "depthwise_initializer 'glorot' is not an initializer")]
    [InlineData("[DepthwiseConv2D(3, DepthwiseConstraint = \"max_norm(2, axis=[4])\")]", "PRELU013", "depthwise_constraint")]
    [InlineData("[Flatten]\n[DepthwiseConv2D(3)]", "PRELU011", "DepthwiseConv2D cannot follow Flatten or Dense")]
    public void Its_mistakes_are_diagnostics_naming_kerass_arguments(string layers, string id, string message)
    {
        var (diagnostics, _, _) = GeneratorDriverHarness.Run(Usings + $"""
            [InputShape(8, 8, 3)]
            {layers}
            [Flatten]
            [Dense(2, Activation = "softmax")]
            public partial class Net;
            """);
        var d = Assert.Single(diagnostics, d => d.Id == id);
        Assert.Equal(DiagnosticSeverity.Error, d.Severity);
        Assert.Contains(message, d.GetMessage(), StringComparison.Ordinal);
    }
}
