using Prelu;

namespace Prelu.Mnist.Models;

// The study's ConvNet in each of its configurations. The layers are those of the Keras study; only the
// activation layers differ: ReLU, PReLU with its alphas from 0 (Keras's default) or 0.25 (the paper's),
// the paper's channel-wise and channel-shared PReLU, and LeakyReLU with the study's alpha of 0.1.

[InputShape(28, 28, 1)]
[Conv2D(32, 3)]
[ReLU]
[MaxPooling2D(2)]
[Dropout(0.25)]
[Conv2D(64, 3)]
[ReLU]
[MaxPooling2D(2)]
[Dropout(0.25)]
[Flatten]
[Dense(256)]
[ReLU]
[Dense(10, Activation = "softmax")]
public partial class StudyRelu;

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
public partial class StudyPRelu;

[InputShape(28, 28, 1)]
[Conv2D(32, 3)]
[PReLU(AlphaInitializer = "constant(0.25)")]
[MaxPooling2D(2)]
[Dropout(0.25)]
[Conv2D(64, 3)]
[PReLU(AlphaInitializer = "constant(0.25)")]
[MaxPooling2D(2)]
[Dropout(0.25)]
[Flatten]
[Dense(256)]
[PReLU(AlphaInitializer = "constant(0.25)")]
[Dense(10, Activation = "softmax")]
public partial class StudyPRelu25;

[InputShape(28, 28, 1)]
[Conv2D(32, 3)]
[PReLU(SharedAxes = [1, 2], AlphaInitializer = "constant(0.25)")]
[MaxPooling2D(2)]
[Dropout(0.25)]
[Conv2D(64, 3)]
[PReLU(SharedAxes = [1, 2], AlphaInitializer = "constant(0.25)")]
[MaxPooling2D(2)]
[Dropout(0.25)]
[Flatten]
[Dense(256)]
[PReLU(AlphaInitializer = "constant(0.25)")]
[Dense(10, Activation = "softmax")]
public partial class StudyPReluChannelWise;

[InputShape(28, 28, 1)]
[Conv2D(32, 3)]
[PReLU(SharedAxes = [1, 2, 3], AlphaInitializer = "constant(0.25)")]
[MaxPooling2D(2)]
[Dropout(0.25)]
[Conv2D(64, 3)]
[PReLU(SharedAxes = [1, 2, 3], AlphaInitializer = "constant(0.25)")]
[MaxPooling2D(2)]
[Dropout(0.25)]
[Flatten]
[Dense(256)]
[PReLU(SharedAxes = [1], AlphaInitializer = "constant(0.25)")]
[Dense(10, Activation = "softmax")]
public partial class StudyPReluChannelShared;

[InputShape(28, 28, 1)]
[Conv2D(32, 3)]
[LeakyReLU(Alpha = 0.1)]
[MaxPooling2D(2)]
[Dropout(0.25)]
[Conv2D(64, 3)]
[LeakyReLU(Alpha = 0.1)]
[MaxPooling2D(2)]
[Dropout(0.25)]
[Flatten]
[Dense(256)]
[LeakyReLU(Alpha = 0.1)]
[Dense(10, Activation = "softmax")]
public partial class StudyLeakyRelu;

// Beyond the study: a deeper network, each convolution followed by BatchNormalization and a channel-wise
// PReLU (the bias is left out where BatchNormalization's beta takes its place), two blocks of two 'same'
// convolutions (28x28, then 14x14), and a BatchNormalized dense layer. `--runs bn-prelu`; not part of the
// default study.
[InputShape(28, 28, 1)]
[Conv2D(32, 3, Padding = "same", UseBias = false)]
[BatchNormalization]
[PReLU(SharedAxes = [1, 2], AlphaInitializer = "constant(0.25)")]
[Conv2D(32, 3, Padding = "same", UseBias = false)]
[BatchNormalization]
[PReLU(SharedAxes = [1, 2], AlphaInitializer = "constant(0.25)")]
[MaxPooling2D(2)]
[Dropout(0.25)]
[Conv2D(64, 3, Padding = "same", UseBias = false)]
[BatchNormalization]
[PReLU(SharedAxes = [1, 2], AlphaInitializer = "constant(0.25)")]
[Conv2D(64, 3, Padding = "same", UseBias = false)]
[BatchNormalization]
[PReLU(SharedAxes = [1, 2], AlphaInitializer = "constant(0.25)")]
[MaxPooling2D(2)]
[Dropout(0.25)]
[Flatten]
[Dense(256, UseBias = false)]
[BatchNormalization]
[PReLU(AlphaInitializer = "constant(0.25)")]
[Dropout(0.4)]
[Dense(10, Activation = "softmax")]
public partial class DeepBatchNormPRelu;
