using Prelu;

namespace Prelu.Mnist.Models;

// The study's question on two tables (--task autompg, --task penguins): the same network with ReLU or with PReLU
// (per element, alphas from 0 as Keras starts them) in its hidden layers.

// TensorFlow's "Basic regression" network for Auto MPG: the features normalised, two hidden layers of 64, mean absolute error.
[InputShape(9)]
[Loss("mean_absolute_error")]
[Normalization]
[Dense(64, Activation = "relu")]
[Dense(64, Activation = "relu")]
[Dense(1)]
public partial class AutoMpgRelu;

[InputShape(9)]
[Loss("mean_absolute_error")]
[Normalization]
[Dense(64)]
[PReLU]
[Dense(64)]
[PReLU]
[Dense(1)]
public partial class AutoMpgPRelu;

// Palmer penguins: the features normalised, two hidden layers of 16, the three species.
[InputShape(9)]
[Loss("sparse_categorical_crossentropy")]
[Normalization]
[Dense(16, Activation = "relu")]
[Dense(16, Activation = "relu")]
[Dense(3, Activation = "softmax")]
public partial class PenguinsRelu;

[InputShape(9)]
[Loss("sparse_categorical_crossentropy")]
[Normalization]
[Dense(16)]
[PReLU]
[Dense(16)]
[PReLU]
[Dense(3, Activation = "softmax")]
public partial class PenguinsPRelu;
