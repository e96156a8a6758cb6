using Prelu.Native.Backends;
using Prelu.Mnist.Models;
using Prelu.Tests.Shared;

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
    public void Resuming_a_run()
    {
        var data = fixture.Mnist.Train.Slice(0, 1000);
        int epochs = 2;
        var folder = Directory.CreateTempSubdirectory("prelu-readme-resume-").FullName;
        var checkpointPath = Path.Combine(folder, "run.safetensors");
        try
        {
            using var backend = new NativeBackend();
            using var model = new StudyPRelu(backend, maxBatchSize: 250);
            model.Initialize(seed: 1);
            using var trainer = new Trainer(model, new Adam());
            using var stop = new CancellationTokenSource();
            stop.Cancel(); // as a Ctrl-C handler would: the fit saves before its first batch and stops
            #region readme: resume
            var options = new FitOptions(epochs, BatchSize: 250, ValidationSplit: 0.2, Seed: 1,
                CheckpointPath: checkpointPath, Resume: true); // saved every epoch; goes on from the file when it exists
            try
            {
                trainer.Fit(data, options, cancellationToken: stop.Token);
            }
            catch (TrainingInterruptedException stopped) // cancelled: saved after the batch in flight
            {
                Console.WriteLine($"{stopped.Message}; run again to go on");
            }
            #endregion
            Assert.True(File.Exists(checkpointPath));
            var history = trainer.Fit(data, options); // goes on
            Assert.Equal(2, history.Epochs.Count);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void Every_readme_example_of_this_file_is_in_the_readme() =>
        Readme.AssertContainsRegions("tests/Prelu.Mnist.Tests/ReadmeTests.cs");
}
