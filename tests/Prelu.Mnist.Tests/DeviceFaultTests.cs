using Prelu.Mnist.Models;
using Prelu.Native.Backends;
using Prelu.Native.OpenCL;

namespace Prelu.Mnist.Tests;

/// <summary>
/// An OpenCL device that fails in the middle of a run (a launch made to fail with CL_OUT_OF_RESOURCES after
/// the first epoch): the error names the call and the CL error, the checkpoint of the last finished epoch is
/// intact, and the run resumes from it on another backend, the C library.
/// </summary>
[Collection(MnistCollection.Name)]
public sealed class DeviceFaultTests(MnistFixture fixture) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("prelu-device-fault-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void A_failing_opencl_device_stops_the_run_naming_the_call_and_it_resumes_on_the_c_library()
    {
        var data = fixture.Mnist.Train.Slice(0, 16);
        var path = Path.Combine(_folder, "run.safetensors");
        var options = new FitOptions(Epochs: 2, BatchSize: 8, Seed: 1, CheckpointPath: path, Resume: true);

        using (var opencl = OpenClBackend.Create())
        using (var model = new StudyPRelu(opencl, 8))
        using (var trainer = new Trainer(model, new Adam()))
        {
            model.Initialize(1);
            var fault = Assert.Throws<ClException>(() => trainer.Fit(data, options, new FailAfterEpoch(opencl)));
            Assert.Equal(-5, fault.Code);
            Assert.StartsWith("clEnqueueNDRangeKernel(", fault.Call, StringComparison.Ordinal);
            Assert.Contains("CL_OUT_OF_RESOURCES", fault.Message, StringComparison.Ordinal);
        }
        var kept = SafeTensors.ReadWithMetadata(path).Metadata;
        Assert.Equal(("2", "0"), (kept["trainer.epoch"], kept["trainer.batch"])); // the first epoch, whole

        using var native = new NativeBackend();
        using var resumedModel = new StudyPRelu(native, 8);
        using var resumed = new Trainer(resumedModel, new Adam());
        resumedModel.Initialize(1);
        var history = resumed.Fit(data, options);
        Assert.Equal([1, 2], history.Epochs.Select(e => e.Epoch));
        Assert.Equal(4, resumed.Optimizer.Iterations); // two steps an epoch, both epochs
        Assert.All(history.Epochs, e => Assert.True(double.IsFinite(e.Loss)));
    }

    private sealed class FailAfterEpoch(OpenClBackend backend) : ITrainingObserver
    {
        public void EpochStarted(int epoch, int epochs, int batches)
        {
        }

        public void BatchCompleted(int epoch, int batch, int batches, IReadOnlyDictionary<string, double> running, double samplesPerSecond)
        {
        }

        public void EpochCompleted(EpochMetrics metrics) => backend.FaultInjection = _ => -5; // CL_OUT_OF_RESOURCES from now on
    }
}
