#region readme: your-own-data
using System.Globalization;
using Prelu;

namespace Classifier;

// A number to predict from three measurements: mean squared error over a linear output.
[InputShape(3)]
[Loss("mean_squared_error")]
[Normalization]
[Dense(32, Activation = "relu")]
[Dense(32, Activation = "relu")]
[Dense(1)]
public partial class ValueNet;

// A yes or a no from the same measurements: binary cross-entropy over a sigmoid.
[InputShape(3)]
[Loss("binary_crossentropy")]
[Normalization]
[Dense(32, Activation = "relu")]
[Dense(1, Activation = "sigmoid")]
public partial class YesNoNet;

public static class YourOwnData
{
    public static void Run(string backendName)
    {
        // Data as a program has it: plain arrays, one row of three features per sample, one target per sample.
        const int Samples = 2000;
        var random = new Random(7);
        var features = new float[Samples * 3];
        var values = new float[Samples];
        var answers = new float[Samples];
        for (int i = 0; i < Samples; i++)
        {
            float a = random.NextSingle() * 4 - 2, b = random.NextSingle() * 4 - 2, c = random.NextSingle() * 100;
            (features[3 * i], features[3 * i + 1], features[3 * i + 2]) = (a, b, c);
            values[i] = 3 * a - b * b + 0.05f * c; // to predict
            answers[i] = a * b > 0 ? 1 : 0;      // yes (1) when a and b have the same sign
        }

        using var backend = BackendChoice.Create(backendName, threads: 0);
        var (train, test) = new Dataset(features, sampleShape: [3], targets: values).RandomSplit(0.8, seed: 1);
        using var valueNet = new ValueNet(backend, maxBatchSize: 32);
        valueNet.Initialize(seed: 1);
        valueNet.Adapt(train); // the Normalization layer learns each feature's mean and variance
        using var valueTrainer = new Trainer(valueNet, new Adam(new AdamSettings(LearningRate: 0.003f)));
        valueTrainer.Fit(train, new FitOptions(Epochs: 40, BatchSize: 32, ValidationSplit: 0.2, Seed: 1, Verbose: 0));
        var regression = valueTrainer.Evaluate(test, batchSize: 32);
        float[] predicted = valueTrainer.Predict(test, batchSize: 32); // one value per test sample
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"regression: test mae {regression.Metrics["mae"]:F3}, first sample {predicted[0]:F2} (true {test.Targets.Span[0]:F2})"));

        (train, test) = new Dataset(features, sampleShape: [3], targets: answers).RandomSplit(0.8, seed: 1);
        using var yesNoNet = new YesNoNet(backend, maxBatchSize: 32);
        yesNoNet.Initialize(seed: 1);
        yesNoNet.Adapt(train);
        using var yesNoTrainer = new Trainer(yesNoNet, new Adam(new AdamSettings(LearningRate: 0.003f)));
        var stopping = new EarlyStopping("val_loss", patience: 5, restoreBestWeights: true);
        var history = yesNoTrainer.Fit(train, new FitOptions(Epochs: 100, BatchSize: 32, ValidationSplit: 0.2, Seed: 1, Callbacks: [stopping], Verbose: 0));
        var classification = yesNoTrainer.Evaluate(test, batchSize: 32);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"binary classifier: test accuracy {classification.Accuracy:F3} after {history.Epochs.Count} epochs, the best one's weights restored"));
    }
}
#endregion
