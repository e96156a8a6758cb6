using System.Diagnostics;
using System.Globalization;
using Prelu.Mnist.Models;
using Prelu.Native.Backends;

namespace Prelu.Benchmarks;

/// <summary>
/// `latency`: the time of one Predict call of the study's PReLU model on the C library, and each layer kernel's share
/// (<see cref="NativeBackend.KernelTimes"/>): 200 calls to warm up, then 2,000 timed, per batch size asked for.
/// </summary>
internal static class LatencyTiming
{
    public static int Run(int threads, int[] batches)
    {
        const int Warm = 200, Timed = 2000;
        using var backend = new NativeBackend(threads);
        Console.WriteLine($"latency native: {BackendChoice.Describe(backend)}, {Timed:N0} calls after {Warm} to warm up");
        foreach (int batch in batches)
        {
            using var model = new StudyPRelu(backend, batch);
            model.Initialize(1);
            var pixels = new float[batch * model.InputLength];
            var probabilities = new float[batch * model.OutputLength];
            for (int i = 0; i < Warm; i++)
                model.Predict(pixels, probabilities);
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < Timed; i++)
                model.Predict(pixels, probabilities);
            double total = clock.Elapsed.TotalMicroseconds / Timed;
            backend.KernelTimes = [];
            for (int i = 0; i < Timed; i++)
                model.Predict(pixels, probabilities);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"batch {batch}: {total:F1} us per Predict"));
            foreach (var (kernel, (seconds, _, _, _)) in backend.KernelTimes.OrderByDescending(k => k.Value.Seconds))
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {kernel}: {seconds / Timed * 1e6:F1} us"));
            backend.KernelTimes = null;
        }
        return 0;
    }
}
