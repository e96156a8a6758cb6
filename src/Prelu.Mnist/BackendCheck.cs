using Prelu.Backends;
using Prelu.Kernels;
using Prelu.Mnist.Models;

namespace Prelu.Mnist;

/// <summary>
/// `--check-backend NAME`: one training step of each study configuration on NAME and on the managed
/// reference, from the same weights and batch, compared gradient by gradient (relative to each tensor's
/// largest value; the tests' tolerance for gradients is 1e-4). For machines that have a backend to
/// check but no .NET SDK to run the tests with (a GPU machine).
/// </summary>
public static class BackendCheck
{
    public const double Tolerance = 1e-4;

    public static int Run(Backend backend, MnistDataset mnist)
    {
        using var reference = new ManagedBackend();
        const int batch = 16;
        var pixels = new float[batch * 784];
        var labels = new float[batch * 10];
        mnist.Train.GatherBatch(Enumerable.Range(0, batch).ToArray(), pixels, labels);
        bool ok = true;
        foreach (var run in StudyRuns.All)
        {
            var gradients = new[] { backend, (Backend)reference }.Select(b =>
            {
                using var model = run.Create(b, batch);
                model.Initialize(1);
                using var input = b.Allocate(pixels);
                using var y = b.Allocate(labels);
                using var metrics = b.Allocate(MetricSlot.Count);
                model.ComputeGradients(input, y, batch, step: 1, metrics);
                return model.Parameters.ToDictionary(p => p.Name, p => model.GetGradient(p.Name));
            }).ToArray();
            double worst = 0;
            string worstName = "";
            foreach (var (name, expected) in gradients[1])
            {
                double scale = Math.Max(expected.Max(v => Math.Abs((double)v)), 1e-30);
                double error = expected.Zip(gradients[0][name], (e, a) => Math.Abs((double)a - e)).Max() / scale;
                if (error > worst)
                    (worst, worstName) = (error, name);
            }
            bool pass = worst <= Tolerance;
            ok &= pass;
            Console.WriteLine($"{run.Name}: largest relative gradient error {worst:E2} ({worstName}) {(pass ? "ok" : "FAILS")}");
        }
        Console.WriteLine(ok ? $"{backend.Name} agrees with the managed reference." : $"{backend.Name} does NOT agree with the managed reference.");
        return ok ? 0 : 1;
    }
}
