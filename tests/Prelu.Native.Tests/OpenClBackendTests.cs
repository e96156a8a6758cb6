using Prelu.Native.OpenCL;
using Prelu.Tests.Shared;

namespace Prelu.Native.Tests;

// The OpenCL kernels against PyTorch and against the managed reference, on the device OpenClDevices
// picks (PoCL on a CPU in CI; PRELU_OPENCL_DEVICE chooses another). Without an OpenCL device these
// tests fail and say so: CI installs PoCL, so there they must run.

public sealed class OpenClBackendConformanceTests() : BackendConformanceTests(OpenClBackend.Create(), OpenClHost.Fallbacks);

// Every graph model and, for concurrent predictions, every batch size of 1 to 8, as on the other backends: a product's
// program serves every shape of its tiles and a layer shape met a few times runs the shape-generic program, so the
// graphs and batches add few programs of their own: about 5 s more than one graph at two batch sizes for a newcomer's
// first run on PoCL, where the two other graphs alone cost 45 s before. OpenCL's kernels take turns: concurrent
// predictions are correct there, not faster.
public sealed class OpenClBackendAgreementTests() : BackendAgreementTests(OpenClBackend.Create(), OpenClHost.Fallbacks);

public sealed class OpenClConcurrentPredictTests() : ConcurrentPredictTests(OpenClBackend.Create());

// The device checks the loss: the trainer reads it back at an epoch's end only, and traces a fault from its trail.
public sealed class OpenClNumericalFaultTests() : NumericalFaultTests(OpenClBackend.Create());

internal static class OpenClHost
{
    /// <summary>
    /// What the OpenCL backend runs through the host reference: nothing. Every PReLU sharing, penalty and
    /// constraint has device kernels, and every case of the suites checks that no host copy hides in them.
    /// </summary>
    public static readonly HostFallbackDeclaration Fallbacks = HostFallbackDeclaration.None;
}

// It changes PRELU_OPENCL_CACHE for the process: nothing else runs beside it.
[CollectionDefinition(nameof(OpenClDeviceTests), DisableParallelization = true)]
public sealed class OpenClSettings;

[Collection(nameof(OpenClDeviceTests))]
public sealed class OpenClDeviceTests
{
    [Fact]
    public void A_device_is_found_and_named()
    {
        var devices = OpenClDevices.All();
        Assert.True(devices.Count > 0, "no OpenCL device: install pocl-opencl-icd (scripts/test does, as root)");
        using var backend = OpenClBackend.Create();
        Assert.StartsWith("opencl (", backend.Name, StringComparison.Ordinal);
    }

    [Fact]
    public void A_choice_that_names_no_device_says_which_there_are()
    {
        Assert.Null(OpenClDevices.Choose("42", out var reason));
        Assert.Contains("names no device", reason, StringComparison.Ordinal);
        var error = Assert.Throws<InvalidOperationException>(() => OpenClBackend.Create("no-such-device"));
        Assert.Contains("No OpenCL backend", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_built_kernels_are_cached_on_disk_and_used_again()
    {
        var folder = Directory.CreateTempSubdirectory("prelu-opencl-cache-").FullName;
        var before = Environment.GetEnvironmentVariable("PRELU_OPENCL_CACHE");
        Environment.SetEnvironmentVariable("PRELU_OPENCL_CACHE", folder);
        try
        {
            using (var first = OpenClBackend.Create())
                Assert.False(first.ProgramFromCache);
            Assert.Single(Directory.GetFiles(folder, "*.bin"));

            using var second = OpenClBackend.Create();
            Assert.True(second.ProgramFromCache);
            using var x = second.Allocate([-1f, 2f]);
            using var y = second.Allocate(2);
            second.ActivationForward(Prelu.Kernels.FusedActivation.Relu, x, null, y);
            Assert.Equal([0f, 2f], second.ToArray(y));
        }
        finally
        {
            Environment.SetEnvironmentVariable("PRELU_OPENCL_CACHE", before);
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void CL_errors_name_the_call_and_the_error()
    {
        var error = new ClException("clCreateBuffer", -61);
        Assert.Equal("OpenCL clCreateBuffer failed with CL_INVALID_BUFFER_SIZE (-61)", error.Message);
    }
}

/// <summary>
/// Ten thousand steps allocate and free device buffers and run every kind of kernel: every cl_mem is
/// released (counted exactly) and the managed heap stays flat. Those are the only objects a step
/// creates: kernels and programs are built once per shape and kept, and no launch makes an event. The
/// process's working set is not bounded: PoCL's own pools keep growing for some 20,000 steps before
/// they level off (near 290 MB in a 60,000-step probe), moving 10-25 MB either way from run to run, so
/// no bound that a ten-second test can afford tells a leak of ours from the driver settling.
/// </summary>
public sealed class OpenClHostWaitTests
{
    // A fit of `images` images (8 a batch) of an MLP, as an app calls it (no observer, no progress): the calls that waited
    // for the device's queue to drain, and the uploads that waited for the device to catch up.
    private static (long Drains, long UploadWaits) Fit(OpenClBackend backend, int images)
    {
        var pixels = Det.Floats(images * 784, 21, 0, 256).Select(v => (byte)v).ToArray();
        var data = new LabeledImages(pixels, Enumerable.Range(0, images).Select(i => (byte)(i % 10)).ToArray(), 28, 28, 1, 10);
        using var model = new Mlp(backend, 8);
        model.Initialize(3);
        using var trainer = new Trainer(model, new Adam());
        long drains = backend.QueueDrains, uploadWaits = backend.UploadWaits;
        trainer.Fit(data, new FitOptions(Epochs: 1, BatchSize: 8, Seed: 2, Verbose: 0));
        return (backend.QueueDrains - drains, backend.UploadWaits - uploadWaits);
    }

    [Fact]
    public void A_steady_training_step_makes_the_host_wait_for_nothing()
    {
        using var backend = OpenClBackend.Create();
        Fit(backend, 16); // the programs built, the scratch sized
        var (fourSteps, _) = Fit(backend, 32);
        var (twelveSteps, _) = Fit(backend, 96);
        // The epoch's end reads the metrics (and the trail's check reads them): the same few drains for 4 steps as for 12.
        Assert.Equal(fourSteps, twelveSteps);
        Assert.InRange(fourSteps, 1, 3);
    }
}

[Collection(nameof(OpenClDeviceTests))]
public sealed class OpenClLeakTests
{
    [Fact]
    public void Ten_thousand_steps_release_every_buffer_and_leave_the_managed_heap_flat()
    {
        using var backend = OpenClBackend.Create();
        var conv = new Prelu.Kernels.Conv2DShape(2, 8, 8, 2, 4, 3, 3);
        var pool = new Prelu.Kernels.Pool2DShape(2, 6, 6, 4, 2, 2);
        var dense = new Prelu.Kernels.DenseShape(2, 36, 3);
        var prelu = Prelu.Kernels.FusedActivation.Parametric(new Prelu.Kernels.PReluShape(2, [6, 6, 4], [1, 2]));
        using var x = backend.Allocate(Det.Floats(conv.InputLength, 1));
        using var k = backend.Allocate(Det.Floats(conv.KernelLength, 2));
        using var alpha = backend.Allocate(Det.Floats(4, 3, 0, 0.5));
        using var dk = backend.Allocate(conv.KernelLength);
        using var dalpha = backend.Allocate(4);
        using var dw = backend.Allocate(dense.KernelLength);
        using var w = backend.Allocate(Det.Floats(dense.KernelLength, 4));
        using var labels = backend.Allocate(Det.OneHot(2, 3));
        using var metrics = backend.Allocate(Prelu.Kernels.MetricSlot.Count);
        using var m = backend.Allocate(dense.KernelLength);
        using var v = backend.Allocate(dense.KernelLength);

        void Step(int i)
        {
            // Fresh buffers every step, as a careless caller would make them: each must be released.
            using var z = backend.Allocate(conv.OutputLength);
            using var y = backend.Allocate(conv.OutputLength);
            using var p = backend.Allocate(pool.OutputLength);
            using var logits = backend.Allocate(dense.OutputLength);
            using var probabilities = backend.Allocate(dense.OutputLength);
            using var dlogits = backend.Allocate(dense.OutputLength);
            using var dp = backend.Allocate(pool.OutputLength);
            using var dy = backend.Allocate(conv.OutputLength);
            backend.Conv2DForward(conv, prelu, x, k, null, alpha, z, y);
            backend.MaxPool2DForward(pool, y, p);
            backend.DenseForward(dense, Prelu.Kernels.FusedActivation.Linear, p, w, null, null, null, logits);
            backend.SoftmaxCrossEntropy(2, 3, logits, labels, probabilities, dlogits, metrics);
            backend.DenseBackward(dense, Prelu.Kernels.FusedActivation.Linear, p, w, null, null, dlogits, dp, dw, null, null);
            backend.MaxPool2DBackward(pool, y, dp, dy);
            backend.Conv2DBackward(conv, prelu, x, k, alpha, z, dy, null, dk, null, dalpha);
            backend.AdamUpdate(new AdamSettings(), i + 1, w, dw, m, v);
        }

        long Measure(int from, int to)
        {
            for (int i = from; i < to; i++)
                Step(i);
            backend.Synchronize();
            GC.Collect();
            GC.WaitForPendingFinalizers();
            return GC.GetTotalMemory(forceFullCollection: true);
        }
        var warm = Measure(0, 4_000);
        int buffers = backend.LiveBuffers; // after warm-up: the backend's own scratch exists by now
        var end = Measure(4_000, 10_000);

        Assert.Equal(buffers, backend.LiveBuffers);
        Assert.True(end - warm < 1 << 20, $"the managed heap grew by {(end - warm) / 1024:N0} KB over steps 4,000 to 10,000");
        Assert.Equal(0, backend.HostFallbacks); // every step ran on the device: no host copies hide in the count
        Assert.True(backend.ToArray(metrics)[1] > 0);
    }
}
