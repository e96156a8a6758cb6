using Prelu.Backends;
using Prelu.Tests.Shared;
using Xunit.Abstractions;

namespace Prelu.Runtime.Tests.Checkpoints;

/// <summary>
/// Damaged checkpoints against the loader: seeded mutations of a real checkpoint (weights and Adam state of
/// a small generated model). Each must load or be refused with the format's or the mismatch's exception
/// naming the file, and a refused load must leave the model's parameters as they were.
/// </summary>
public sealed class CheckpointFuzzTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("prelu-ckpt-fuzz-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void The_loader_loads_or_refuses_every_damaged_checkpoint_and_a_refusal_changes_nothing()
    {
        using var backend = new ManagedBackend();
        using var model = new IrregularPReluNet(backend, 4);
        using var optimizer = new Adam();
        model.Initialize(5);
        var path = Path.Combine(_folder, "model.safetensors");
        Checkpoint.Save(path, model, optimizer);
        var valid = File.ReadAllBytes(path);
        int headerLength = (int)BitConverter.ToUInt64(valid, 0);
        var before = model.Parameters.ToDictionary(p => p.Name, p => model.GetParameter(p.Name));

        var fuzz = new Fuzz(4) { TextRegion = (8, headerLength), FieldOffsets = [0] };
        var tally = new FuzzTally();
        const int cases = 1500;
        for (int i = 0; i < cases; i++)
        {
            var (bytes, mutation) = fuzz.Mutate(valid);
            File.WriteAllBytes(path, bytes);
            bool refused = false;
            tally.Run<SafeTensorsFormatException>(path, mutation, () =>
            {
                try
                {
                    Checkpoint.Load(path, model, optimizer);
                }
                catch (Exception e) when (e is SafeTensorsFormatException or CheckpointMismatchException)
                {
                    refused = true;
                    throw;
                }
            }, 16L * bytes.Length + (256 << 10), typeof(CheckpointMismatchException));
            if (refused)
            {
                foreach (var (name, values) in before)
                    Assert.True(values.AsSpan().SequenceEqual(model.GetParameter(name)), $"case {i + 1} ({mutation}): a refused load changed {name}");
            }
            else
            {
                // A load of damaged bytes that still fit: put the weights back for the next case.
                foreach (var (name, values) in before)
                    model.SetParameter(name, values);
            }
        }
        output.WriteLine($"checkpoint loader fuzzing: {tally}");
        Assert.True(tally.Refused > cases / 2, tally.ToString());
    }
}
