using Prelu;

namespace Prelu.Tests.Shared;

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

// A graph (Keras's functional API): the stem is read by four layers (a residual branch, an identity shortcut, a 1x1
// projection and a concatenation), an identity shortcut and a projection shortcut are merged by Add, two branches are
// joined by Concatenate, and a flattened map is read by two dense layers (one through a dropout, which then cannot
// work in place).
[InputShape(6, 6, 2)]
[Conv2D(4, 3, Padding = "same", Activation = "relu", Name = "stem")]
[Conv2D(4, 3, Padding = "same", UseBias = false, Name = "branch_a")]
[BatchNormalization(Name = "norm_a")]
[PReLU(SharedAxes = [1, 2], AlphaInitializer = "constant(0.25)", Name = "act_a")]
[Add("act_a", "stem", Name = "identity")]
[Conv2D(6, 1, Input = "stem", Activation = "tanh", Name = "projection")]
[Conv2D(6, 3, Padding = "same", Input = "identity", Name = "conv_c")]
[ELU(Name = "act_c")]
[Add("act_c", "projection", Name = "projected")]
[Concatenate("projected", "stem", Name = "joined")]
[MaxPooling2D(2, Name = "pool")]
[Flatten(Name = "flat")]
[Dropout(0.3, Name = "drop")]
[Dense(5, Name = "dense_a")]
[Dense(5, Input = "flat", Activation = "sigmoid", Name = "dense_b")]
[Add("dense_a", "dense_b", Name = "sum")]
[Dense(3, Activation = "softmax", Name = "out")]
public partial class ResidualGraphNet;

// The other merges: a product of three branches, a maximum of two and an average of three (one of them the shared
// hidden layer itself), and a concatenation along an axis other than the last.
[InputShape(2, 3, 2)]
[Flatten(Name = "flat")]
[Dense(6, Activation = "tanh", Name = "hidden")]
[Dense(6, Name = "a")]
[Dense(6, Input = "hidden", Name = "b")]
[Dense(6, Input = "hidden", Activation = "sigmoid", Name = "c")]
[Multiply("a", "b", "c", Name = "product")]
[Maximum("a", "b", Name = "largest")]
[Average("product", "largest", "hidden", Name = "mean")]
[Conv2D(3, 1, Input = "input", Name = "pointwise")]
[Conv2D(3, 1, Input = "input", Activation = "relu", Name = "pointwise_relu")]
[Concatenate("pointwise", "pointwise_relu", Axis = 1, Name = "stacked")]
[Flatten(Name = "stacked_flat")]
[Dense(6, Name = "stacked_dense")]
[Concatenate("mean", "stacked_dense", Name = "features")]
[Dense(3, Activation = "softmax", Name = "out")]
public partial class MergeNet;

// MobileNet's inverted residual: a 1x1 expansion, a depthwise 3x3 convolution with a fused channel-wise PReLU, a 1x1
// projection added to the block's input; then a strided depthwise convolution with two kernels per channel.
#region readme: inverted-residual
[InputShape(6, 6, 3)]
[Conv2D(6, 1, Name = "expand")]
[ReLU(Name = "expand_relu")]
[DepthwiseConv2D(3, Padding = "same", Name = "depthwise")]
[PReLU(SharedAxes = [1, 2], AlphaInitializer = "constant(0.25)", Name = "depthwise_prelu")]
[Conv2D(3, 1, Name = "project")]
[Add("project", "input", Name = "residual")]
[DepthwiseConv2D([2, 3], Strides = [2, 1], DepthMultiplier = 2, UseBias = false, Activation = "tanh", DepthwiseRegularizer = "l2(0.01)", Name = "reduce")]
[Flatten]
[Dense(3, Activation = "softmax")]
public partial class InvertedResidualNet;
#endregion

// L1 and L2 penalties on kernels, biases and alphas (per element and shared): their gradients join the backward's.
// Named layers, so that the gradient check reads the declared penalties from these attributes itself.
[InputShape(6, 6, 1)]
[Conv2D(3, 3, KernelRegularizer = "l1_l2(0.002, 0.004)", BiasRegularizer = "l1(0.006)", Name = "conv")]
[PReLU(AlphaRegularizer = "l1_l2(0.005, 0.004)", AlphaInitializer = "constant(0.2)", Name = "conv_prelu")]
[Flatten(Name = "flat")]
[Dense(4, KernelRegularizer = "l1(0.004)", BiasRegularizer = "l2(0.01)", Name = "hidden")]
[PReLU(SharedAxes = [1], AlphaRegularizer = "l2(0.02)", AlphaInitializer = "constant(0.1)", Name = "hidden_prelu")]
[Dense(3, Activation = "softmax", KernelRegularizer = "l2(0.002)", BiasRegularizer = "l1_l2(0.002, 0.002)", Name = "out")]
public partial class PenalisedNet;

// One model per loss beyond the categorical cross-entropy, each with its output as the loss wants it.
#region readme: losses
// Two values predicted from five features: mean squared error over a linear output.
[InputShape(5)]
[Loss("mean_squared_error")]
[Dense(6, Activation = "tanh")]
[Dense(2)]
public partial class RegressionNet;
#endregion

// Huber's loss through a non-linear output activation, which the loss's gradient flows back through.
[InputShape(6)]
[Loss("huber", Delta = 0.5)]
[Dense(4, Activation = "relu")]
[Dense(3, Activation = "softplus")]
public partial class HuberNet;

// Mean absolute error over a map: the output is a convolution's (3, 3, 1), not a vector.
[InputShape(3, 3, 2)]
[Loss("mae")]
[Conv2D(6, 3, Padding = "same", Activation = "elu")]
[Conv2D(1, 1)]
public partial class MapRegressionNet;

#region readme: multi-label
// Three yes/no labels per image: a sigmoid per output, which binary cross-entropy computes from the logits.
[InputShape(4, 4, 1)]
[Loss("binary_crossentropy")]
[Conv2D(2, 3, Activation = "relu")]
[Flatten]
[Dense(3, Activation = "sigmoid")]
public partial class MultiLabelNet;
#endregion

// A yes/no answer: one sigmoid output, as an Activation layer after a Dense layer without one.
[InputShape(5)]
[Loss("binary_crossentropy")]
[Dense(4, Activation = "swish")]
[Dense(1)]
[Activation("sigmoid")]
public partial class BinaryNet;

// Class indices as targets instead of one-hot rows.
[InputShape(5)]
[Loss("sparse_categorical_crossentropy")]
[Dense(5, Activation = "relu")]
[Dense(4)]
[Activation("softmax")]
public partial class SparseNet;

// Keras's Normalization on a map's channels (statistics over every position), then a small classifier.
[InputShape(2, 2, 3)]
[Normalization]
[Conv2D(8, 1, Activation = "relu")]
[Flatten]
[Dense(3, Activation = "softmax")]
public partial class NormalizedInputNet;

#region readme: basic-regression
// TensorFlow's "Basic regression" tutorial's network for Auto MPG: the features normalised, two hidden layers.
[InputShape(9)]
[Loss("mean_absolute_error")]
[Normalization]
[Dense(64, Activation = "relu")]
[Dense(64, Activation = "relu")]
[Dense(1)]
public partial class AutoMpgNet;
#endregion

/// <summary>Every model above, by type: the theories that cover all of them.</summary>
internal static class TestModels
{
    public static readonly Type[] All =
        [typeof(StudyModel), typeof(Mlp), typeof(ReluCnn), typeof(StridedCnn), typeof(ChannelPReluCnn), typeof(UnfusedPReluNet), typeof(IrregularPReluNet),
            typeof(NormalizedNet), typeof(ActivationsNet), typeof(CheckpointedBatchNormNet), typeof(BatchNormMlp), typeof(ResidualGraphNet), typeof(MergeNet),
            typeof(PenalisedNet), typeof(InvertedResidualNet), typeof(RegressionNet), typeof(HuberNet), typeof(MapRegressionNet), typeof(MultiLabelNet),
            typeof(BinaryNet), typeof(SparseNet), typeof(NormalizedInputNet)];

    /// <summary>The models that train with a loss other than the categorical cross-entropy, one for each.</summary>
    public static readonly Type[] Losses =
        [typeof(RegressionNet), typeof(HuberNet), typeof(MapRegressionNet), typeof(MultiLabelNet), typeof(BinaryNet), typeof(SparseNet)];

    /// <summary>The models that are graphs (shortcuts, merges, branches): every backend's agreement suite trains them.</summary>
    public static readonly Type[] Graphs = [typeof(ResidualGraphNet), typeof(MergeNet), typeof(InvertedResidualNet)];

    /// <summary>Models of worked examples on real data (too large for the float64 gradient theories): the tests that train them say what they reach.</summary>
    public static readonly Type[] Examples = [typeof(AutoMpgNet)];

    /// <summary>Models checked against values worked out by hand rather than by the theories (too small to fit a batch).</summary>
    public static readonly Type[] HandChecked = [typeof(NormOnly)];

    public static Prelu.CompiledModel Create(Type type, Prelu.Kernels.Backend backend, int batch) => type.Name switch
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
        nameof(ResidualGraphNet) => new ResidualGraphNet(backend, batch),
        nameof(MergeNet) => new MergeNet(backend, batch),
        nameof(PenalisedNet) => new PenalisedNet(backend, batch),
        nameof(InvertedResidualNet) => new InvertedResidualNet(backend, batch),
        nameof(RegressionNet) => new RegressionNet(backend, batch),
        nameof(HuberNet) => new HuberNet(backend, batch),
        nameof(MapRegressionNet) => new MapRegressionNet(backend, batch),
        nameof(MultiLabelNet) => new MultiLabelNet(backend, batch),
        nameof(BinaryNet) => new BinaryNet(backend, batch),
        nameof(SparseNet) => new SparseNet(backend, batch),
        nameof(NormalizedInputNet) => new NormalizedInputNet(backend, batch),
        nameof(AutoMpgNet) => new AutoMpgNet(backend, batch),
        _ => throw new ArgumentException($"no test model {type.Name}", nameof(type)),
    };
}
