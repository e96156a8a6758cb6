using Prelu.Checkpoints;
using Prelu.Native.Backends;
using Prelu.Mnist.Models;
using Prelu.Optimizers;
using Prelu.Tests.Shared;
using Prelu.Training;

namespace Prelu.Mnist.Tests;

/// <summary>The README's training example, run here for one epoch (the study runs it for 25).</summary>
[Collection(MnistCollection.Name)]
public sealed class ReadmeTests(MnistFixture fixture)
{
    [Fact]
    public void Training_the_study_model()
    {
        var mnist = fixture.Mnist;
        int epochs = 1;
        var checkpointPath = Path.Combine(Path.GetTempPath(), $"prelu-readme-{Environment.ProcessId}.safetensors");
        try
        {
            #region readme: training
            using var backend = BackendChoice.Create("auto", threads: 0, Console.WriteLine); // native C kernels, else managed SIMD
            using var model = new StudyPRelu(backend, maxBatchSize: 250);
            model.Initialize(seed: 1);
            using var trainer = new Trainer(model, new Adam()); // Keras's defaults
            var history = trainer.Fit(mnist.Train, new FitOptions(epochs, BatchSize: 250, ValidationSplit: 0.2, Seed: 1));
            var (testLoss, testAccuracy) = trainer.Evaluate(mnist.Test, batchSize: 250);
            Checkpoint.Save(checkpointPath, model, trainer.Optimizer);
            #endregion

            Assert.Single(history.Epochs);
            Assert.True(testAccuracy > 0.97, $"test accuracy {testAccuracy} after one epoch");
            Assert.True(testLoss < 0.1, $"test loss {testLoss}");
            Assert.True(File.Exists(checkpointPath));
        }
        finally
        {
            File.Delete(checkpointPath);
        }
    }

    [Fact]
    public void Every_readme_example_of_this_file_is_in_the_readme() =>
        Readme.AssertContainsRegions("tests/Prelu.Mnist.Tests/ReadmeTests.cs");
}
