using Prelu.Native.Backends;
using Prelu.Tests.Shared;

namespace Prelu.Native.Tests;

/// <summary>
/// README's promise for an app's Predict on the C kernels (the backend an app gets where the library loads): nothing
/// allocated once warm, for every test model, the graphs (their merges take spans built on the stack) among them.
/// </summary>
public sealed class PredictAllocationTests
{
    public static TheoryData<Type> Models => new(TestModels.All);

    [Theory]
    [MemberData(nameof(Models))]
    public void Predict_allocates_nothing_once_warm(Type type)
    {
        using var backend = new NativeBackend();
        using var model = TestModels.Create(type, backend, 4);
        model.Initialize(3);
        var inputs = Det.Floats(4 * model.InputLength, 9);
        var predictions = new float[4 * model.OutputLength];
        model.Predict(inputs, predictions);
        if (model.Loss.Kind is Prelu.Kernels.LossKind.CategoricalCrossentropy or Prelu.Kernels.LossKind.SparseCategoricalCrossentropy)
            Assert.All(Enumerable.Range(0, 4), s => Assert.Equal(1f, predictions.Skip(s * model.OutputLength).Take(model.OutputLength).Sum(), 1e-5f));
        else
            Assert.All(predictions, p => Assert.True(float.IsFinite(p), $"{type.Name} predicted {p}"));

        // The fewest bytes over a few windows of ten calls, after a warm-up (the runtime may allocate once while it
        // recompiles the path), must be none.
        for (int i = 0; i < 50; i++)
            model.Predict(inputs, predictions);
        long fewest = long.MaxValue;
        for (int window = 0; window < 3 && fewest > 0; window++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 10; i++)
                model.Predict(inputs, predictions);
            fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        Assert.Equal(0, fewest);
    }
}
