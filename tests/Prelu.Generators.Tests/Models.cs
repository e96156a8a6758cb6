using Prelu;

namespace Prelu.Generators.Tests;

// The study's model, exactly as Keras declares it (per-element PReLU, alphas from zeros).
#region readme: study-model
[InputShape(28, 28, 1)]
[Conv2D(32, 3)]
[PReLU]
[MaxPooling2D(2)]
[Dropout(0.25)]
[Conv2D(64, 3)]
[PReLU]
[MaxPooling2D(2)]
[Dropout(0.25)]
[Flatten]
[Dense(256)]
[PReLU]
[Dense(10, Activation = "softmax")]
public partial class StudyModel;
#endregion

// A plain multi-layer perceptron on flattened images.
[InputShape(784)]
[Dense(128, Activation = "relu")]
[Dropout(0.2)]
[Dense(64, Activation = "relu", KernelRegularizer = "l2(0.001)")]
[Dense(10, Activation = "softmax")]
public partial class Mlp;

// The study's network with ReLU layers instead of PReLU.
[InputShape(28, 28, 1)]
[Conv2D(32, 3)]
[ReLU]
[MaxPooling2D(2)]
[Dropout(0.25)]
[Conv2D(64, 3, Activation = "relu")]
[MaxPooling2D(2)]
[Dropout(0.25)]
[Flatten]
[Dense(256, Activation = "relu")]
[Dense(10, Activation = "softmax")]
public partial class ReluCnn;

// 'same' padding, strides, a non-square kernel and pooling with its own stride.
[InputShape(28, 28, 1)]
[Conv2D(16, 5, Padding = "same", Strides = [2], Activation = "relu", KernelInitializer = "he_normal")]
[Conv2D(24, 3, 2, Padding = "same", KernelConstraint = "max_norm(3, axis=[0, 1, 2])")]
[LeakyReLU(Alpha = 0.1)]
[MaxPooling2D(3, Strides = [2], Padding = "same")]
[Flatten]
[Dense(10, Activation = "softmax")]
public partial class StridedCnn;

// The paper's preferred forms: channel-wise PReLU on maps, channel-shared after the dense layer,
// alphas from 0.25 and without weight decay.
[InputShape(28, 28, 1)]
[Conv2D(32, 3)]
[PReLU(SharedAxes = [1, 2], AlphaInitializer = "constant(0.25)")]
[MaxPooling2D(2)]
[Conv2D(64, 3)]
[PReLU(SharedAxes = [1, 2], AlphaInitializer = "constant(0.25)")]
[MaxPooling2D(2)]
[Flatten]
[Dense(256, KernelRegularizer = "l2(0.0001)")]
[PReLU(SharedAxes = [1], AlphaInitializer = "constant(0.25)")]
[Dense(10, Activation = "softmax")]
public partial class ChannelPReluCnn;

// A PReLU on the input itself and one after pooling: activation layers that cannot be fused.
[InputShape(8, 8, 2)]
[PReLU(SharedAxes = [1, 2, 3], AlphaInitializer = "constant(0.5)")]
[Conv2D(4, 3, Padding = "same", Name = "conv")]
[MaxPooling2D(2)]
[PReLU(AlphaInitializer = "random_uniform(0, 0.5)")]
[Flatten]
[Dense(3, Activation = "softmax", Name = "out")]
public partial class UnfusedPReluNet;

// PReLU shared along one spatial axis only (alpha (1, W, C)) after a convolution, and along height and
// channels (alpha (1, W, 1)) after pooling: the sharing patterns that are neither per element,
// channel-wise nor a single alpha.
[InputShape(8, 8, 1)]
[Conv2D(16, 3, Name = "conv")]
[PReLU(SharedAxes = [1], AlphaInitializer = "random_uniform(0.05, 0.3)")]
[MaxPooling2D(2)]
[PReLU(SharedAxes = [1, 3], AlphaInitializer = "constant(0.2)")]
[Flatten]
[Dense(3, Activation = "softmax", Name = "out")]
public partial class IrregularPReluNet;

// BatchNormalization on maps (with and without scale), an Activation layer and an ELU layer on their own,
// average pooling, global average pooling, a fused tanh, and softmax as an Activation layer after the last Dense.
[InputShape(8, 8, 2)]
[Conv2D(6, 3, Padding = "same", UseBias = false)]
[BatchNormalization]
[Activation("swish")]
[AveragePooling2D(2)]
[Conv2D(8, 3, Padding = "same")]
[ELU(Alpha = 0.5)]
[BatchNormalization(Scale = false, Momentum = 0.9)]
[GlobalAveragePooling2D]
[Dense(6, Activation = "tanh")]
[Dense(3)]
[Activation("softmax")]
public partial class NormalizedNet;

// The other pointwise activations, fused and on their own, BatchNormalization of a flat input, and global max pooling.
[InputShape(6, 6, 1)]
[Conv2D(4, 3, Activation = "gelu")]
[GlobalMaxPooling2D]
[Dense(10, Activation = "sigmoid")]
[BatchNormalization(Center = false)]
[Activation("selu")]
[Dense(8, Activation = "softplus")]
[Dense(8)]
[Activation("elu")]
[Dense(3, Activation = "softmax")]
public partial class ActivationsNet;

// The model whose checkpoint tests/reference/make_fixture.py loads into PyTorch modules by the documented
// tensor names (tests/reference/batchnorm-checkpoint.safetensors).
[InputShape(6, 6, 2)]
[Conv2D(3, 3, UseBias = false)]
[BatchNormalization]
[ReLU]
[Flatten]
[Dense(8, UseBias = false)]
[BatchNormalization(Momentum = 0.9)]
[Activation("tanh")]
[Dense(3, Activation = "softmax")]
public partial class CheckpointedBatchNormNet;

// BatchNormalization first, on a flat input: its statistics are easy to compute by hand.
[InputShape(4)]
[BatchNormalization(Name = "norm")]
[Dense(2, Activation = "softmax")]
public partial class NormOnly;

// A perceptron with BatchNormalization between a dense layer (without a bias: beta takes its place) and its ReLU.
[InputShape(784)]
[Dense(32, UseBias = false)]
[BatchNormalization(Momentum = 0.8)]
[ReLU]
[Dense(10, Activation = "softmax")]
public partial class BatchNormMlp;

/// <summary>Every model above, by type: the theories that cover all of them.</summary>
internal static class TestModels
{
    public static readonly Type[] All =
        [typeof(StudyModel), typeof(Mlp), typeof(ReluCnn), typeof(StridedCnn), typeof(ChannelPReluCnn), typeof(UnfusedPReluNet), typeof(IrregularPReluNet),
            typeof(NormalizedNet), typeof(ActivationsNet), typeof(CheckpointedBatchNormNet), typeof(BatchNormMlp)];

    /// <summary>Models checked against values worked out by hand rather than by the theories (too small to fit a batch).</summary>
    public static readonly Type[] HandChecked = [typeof(NormOnly)];

    public static Prelu.Models.CompiledModel Create(Type type, Prelu.Kernels.Backend backend, int batch) => type.Name switch
    {
        nameof(StudyModel) => new StudyModel(backend, batch),
        nameof(Mlp) => new Mlp(backend, batch),
        nameof(ReluCnn) => new ReluCnn(backend, batch),
        nameof(StridedCnn) => new StridedCnn(backend, batch),
        nameof(ChannelPReluCnn) => new ChannelPReluCnn(backend, batch),
        nameof(UnfusedPReluNet) => new UnfusedPReluNet(backend, batch),
        nameof(IrregularPReluNet) => new IrregularPReluNet(backend, batch),
        nameof(NormalizedNet) => new NormalizedNet(backend, batch),
        nameof(ActivationsNet) => new ActivationsNet(backend, batch),
        nameof(CheckpointedBatchNormNet) => new CheckpointedBatchNormNet(backend, batch),
        nameof(BatchNormMlp) => new BatchNormMlp(backend, batch),
        _ => throw new ArgumentException($"no test model {type.Name}", nameof(type)),
    };
}
