using Prelu;

namespace Classifier;

// The sample's own networks, declared as Keras would: the package's generator turns each into a model class.

/// <summary>A multi-layer perceptron on flattened 28x28 images.</summary>
[InputShape(28, 28, 1)]
[Flatten]
[Dense(128, Activation = "relu")]
[Dropout(0.2)]
[Dense(10, Activation = "softmax")]
public partial class DigitMlp;

/// <summary>A small ConvNet with channel-wise PReLU.</summary>
[InputShape(28, 28, 1)]
[Conv2D(16, 3)]
[PReLU(SharedAxes = [1, 2])]
[MaxPooling2D(2)]
[Conv2D(32, 3)]
[PReLU(SharedAxes = [1, 2])]
[MaxPooling2D(2)]
[Flatten]
[Dense(10, Activation = "softmax")]
public partial class DigitCnn;
