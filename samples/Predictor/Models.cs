using Prelu;

namespace Predictor;

// The Classifier sample's networks, layer for layer (so its checkpoints load here), for prediction only.

/// <summary>The Classifier's multi-layer perceptron, for prediction.</summary>
[InferenceOnly]
[InputShape(28, 28, 1)]
[Flatten]
[Dense(128, Activation = "relu")]
[Dropout(0.2)]
[Dense(10, Activation = "softmax")]
public partial class DigitMlp;

/// <summary>The Classifier's ConvNet with channel-wise PReLU, for prediction.</summary>
[InferenceOnly]
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
