namespace Prelu.Generators.Tests;

/// <summary>
/// Where the plan fuses a convolution, the BatchNormalization of its output and the activation after that into one
/// call (<c>Backend.Conv2DBatchNormForward</c>/<c>Backward</c>), and where it must not: the convolution linear, each
/// layer the only reader of the one before it, declared right after it.
/// </summary>
public sealed class ConvBatchNormFusionTests
{
    private static string Generated(string layers)
    {
        var (diagnostics, sources, errors) = GeneratorDriverHarness.Run("using Prelu;\n" + layers + "\npublic partial class Net;");
        Assert.True(diagnostics.IsEmpty && errors.IsEmpty, string.Join("; ", diagnostics.Concat(errors).Select(d => $"{d.Id} {d.GetMessage()}")));
        return Assert.Single(sources);
    }

    private static int Count(string source, string text) => source.Split(text).Length - 1;

    [Fact]
    public void A_linear_convolution_its_normalization_and_a_prelu_are_one_call_each_way()
    {
        var source = Generated("""
            [InputShape(8, 8, 3)]
            [Conv2D(4, 3, UseBias = false, Name = "conv")]
            [BatchNormalization(Momentum = 0.9, Name = "norm")]
            [PReLU(SharedAxes = [1, 2], Name = "act")]
            [Flatten]
            [Dense(2, Activation = "softmax")]
            """);

        Assert.Contains("// conv + norm + act: (8, 8, 3) -> (6, 6, 4)", source, StringComparison.Ordinal);
        Assert.Contains("backend.Conv2DBatchNormForward(p.Conv, new global::Prelu.Kernels.BatchNormAfter(0.9f, 0.001f, _normGamma, _normBeta, " +
            "_normMovingMean, _normMovingVariance), training, p.ConvActivation, input, _convKernel, null, _actAlpha, p.ConvY, p.NormY, p.ActY);",
            source, StringComparison.Ordinal);
        Assert.Contains("backend.Conv2DBatchNormBackward(p.Conv, new global::Prelu.Kernels.BatchNormAfter(0.9f, 0.001f, _normGamma, _normBeta, " +
            "_normMovingMean, _normMovingVariance), p.ConvActivation, input, _convKernel, _actAlpha, p.ConvY, p.NormY, p.ActGrad, p.ConvGrad, null, " +
            "_convKernelGrad, null, _normGammaGrad, _normBetaGrad, _actAlphaGrad);", source, StringComparison.Ordinal);
        Assert.Contains("ConvActivation = global::Prelu.Kernels.FusedActivation.Parametric(", source, StringComparison.Ordinal);
        Assert.DoesNotContain("backend.BatchNormForward(", source, StringComparison.Ordinal);
        Assert.DoesNotContain("backend.ActivationForward(", source, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_an_activation_after_it_the_normalization_is_the_calls_result()
    {
        var source = Generated("""
            [InputShape(8, 8, 3)]
            [Conv2D(4, 3, Name = "conv")]
            [BatchNormalization(Scale = false, Name = "norm")]
            [GlobalAveragePooling2D]
            [Dense(2, Activation = "softmax")]
            """);

        Assert.Contains("backend.Conv2DBatchNormForward(p.Conv, new global::Prelu.Kernels.BatchNormAfter(0.99f, 0.001f, null, _normBeta, " +
            "_normMovingMean, _normMovingVariance), training, p.ConvActivation, input, _convKernel, _convBias, null, p.ConvY, null, p.NormY);",
            source, StringComparison.Ordinal);
        Assert.Contains("ConvActivation = global::Prelu.Kernels.FusedActivation.Linear;", source, StringComparison.Ordinal);
    }

    [Theory]
    // The convolution has its own activation: the normalization reads act(conv), not the convolution's output.
    [InlineData("[Conv2D(4, 3, Activation = \"relu\", Name = \"conv\")]\n[BatchNormalization(Name = \"norm\")]\n[ReLU]", 1)]
    // A second reader of the convolution's output (the shortcut) needs it as it is.
    [InlineData("[Conv2D(3, 3, Padding = \"same\", Name = \"conv\")]\n[BatchNormalization(Name = \"norm\")]\n[Add(\"norm\", \"conv\")]", 1)]
    // A second reader of the normalization's output: fused with the convolution, the activation on its own.
    [InlineData("[Conv2D(3, 3, Padding = \"same\", Name = \"conv\")]\n[BatchNormalization(Name = \"norm\")]\n[ReLU(Name = \"act\")]\n[Add(\"act\", \"norm\")]", 0)]
    // A layer between them.
    [InlineData("[Conv2D(4, 3, Name = \"conv\")]\n[Dropout(0.1)]\n[BatchNormalization(Name = \"norm\")]", 1)]
    public void Where_another_layer_needs_what_a_fused_call_would_hide_the_layers_stay_apart(string layers, int standaloneNormalizations)
    {
        var source = Generated($"[InputShape(8, 8, 3)]\n{layers}\n[Flatten]\n[Dense(2, Activation = \"softmax\")]");

        Assert.Equal(standaloneNormalizations, Count(source, "backend.BatchNormForward("));
        Assert.Equal(1 - standaloneNormalizations, Count(source, "backend.Conv2DBatchNormForward("));
        if (standaloneNormalizations == 0)
            Assert.Contains("backend.ActivationForward(", source, StringComparison.Ordinal); // the ReLU on its own: the normalization has two readers
    }
}
