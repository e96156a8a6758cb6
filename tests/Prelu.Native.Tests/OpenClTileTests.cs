using Prelu.Backends;
using Prelu.Kernels;
using Prelu.Native.OpenCL;
using Prelu.Tests.Shared;

namespace Prelu.Native.Tests;

/// <summary>
/// The OpenCL products (gemm.cl) with every kind of tile against the managed reference: single rows and
/// columns, vector widths that do and do not fit the shape's edges, K split into slices, at batch 1 and 7
/// on shapes that are no multiple of any tile. The conformance and agreement suites cover the tiles the
/// backend chooses itself; these cover the ones another device or shape would get.
/// </summary>
public sealed class OpenClTileTests
{
    // Rows x vectors x width, slices; "chosen" is the backend's own choice; "local" the local-memory tile GPUs try.
    public static TheoryData<string, int> Tiles()
    {
        var data = new TheoryData<string, int>();
        foreach (var tile in new[] { "chosen", "1x1x1/1", "3x5x1/1", "6x2x16/1", "4x2x4/3", "5x3x2/7", "8x1x8/2", "local/1", "local/3" })
        {
            foreach (int batch in new[] { 1, 7 })
                data.Add(tile, batch);
        }
        return data;
    }

    private static Func<GemmProduct, GemmTile>? Parse(string tile)
    {
        if (tile == "chosen")
            return null;
        if (tile.StartsWith("local/", StringComparison.Ordinal))
        {
            // GPUs' work-group tile in local memory, of float4 where the shape allows.
            int slices = int.Parse(tile["local/".Length..]);
            return p =>
            {
                int width = 4;
                while (p.N % width != 0)
                    width /= 2;
                return GemmTile.InLocalMemory(width, p.Epilogue ? 1 : slices);
            };
        }
        var parts = tile.Split('x', '/').Select(int.Parse).ToArray();
        return p =>
        {
            int width = parts[2];
            while (p.N % width != 0)
                width /= 2;
            return new GemmTile(parts[0], width, parts[1], p.Epilogue ? 1 : parts[3]);
        };
    }

    [Theory]
    [MemberData(nameof(Tiles))]
    public void Convolution_and_dense_products_agree_with_the_reference_for_any_tile(string tile, int batch)
    {
        using var reference = new ManagedBackend();
        using var opencl = OpenClBackend.Create();
        opencl.TileChoice = Parse(tile);
        var conv = new Conv2DShape(batch, 9, 8, 3, 6, 3, 2, 1, 1, Padding.Same);
        var convAct = FusedActivation.Parametric(new PReluShape(batch, [conv.OutHeight, conv.OutWidth, conv.Filters]));
        var dense = new DenseShape(batch, 37, 10);
        var denseAct = FusedActivation.Parametric(new PReluShape(batch, [dense.Units], [1]));

        var results = new Backend[] { reference, opencl }.Select(backend => Run(backend, conv, convAct, dense, denseAct)).ToArray();
        for (int i = 0; i < results[0].Length; i++)
            Close.Assert(results[0][i], results[1][i], i is 0 or 5 ? Close.Forward : Close.Gradient, $"tile {tile}, batch {batch}, result {i}");
    }

    // A convolution, then a dense layer on inputs of its own: each one's output and every gradient.
    private static float[][] Run(Backend backend, Conv2DShape conv, FusedActivation convAct, DenseShape dense, FusedActivation denseAct) =>
        [.. RunConvolution(backend, conv, convAct), .. RunDense(backend, dense, denseAct)];

    /// <summary>A convolution's output and every gradient (its alphas' too under PReLU), from fixed inputs.</summary>
    internal static float[][] RunConvolution(Backend backend, Conv2DShape conv, FusedActivation act)
    {
        using var x = backend.Allocate(Det.Floats(conv.InputLength, 1));
        using var k = backend.Allocate(Det.Floats(conv.KernelLength, 2, -0.5, 0.5));
        using var b = backend.Allocate(Det.Floats(conv.BiasLength, 3));
        int? alphas = act.PRelu?.AlphaLength;
        using var alpha = alphas is { } n ? backend.Allocate(Det.Floats(n, 4, 0, 0.5)) : null;
        using var z = backend.Allocate(conv.OutputLength);
        using var y = backend.Allocate(conv.OutputLength);
        using var dy = backend.Allocate(Det.Floats(conv.OutputLength, 5));
        using var dx = backend.Allocate(conv.InputLength);
        using var dk = backend.Allocate(conv.KernelLength);
        using var db = backend.Allocate(conv.BiasLength);
        using var dalpha = alphas is { } m ? backend.Allocate(m) : null;
        backend.Conv2DForward(conv, act, x, k, b, alpha, z, y);
        backend.Conv2DBackward(conv, act, x, k, alpha, z, dy, dx, dk, db, dalpha);
        float[][] results = [backend.ToArray(y), backend.ToArray(dx), backend.ToArray(dk), backend.ToArray(db)];
        return dalpha is null ? results : [.. results, backend.ToArray(dalpha)];
    }

    [Fact]
    public void The_tuner_times_every_candidate_keeps_the_fastest_and_a_second_backend_reads_its_choice()
    {
        var shape = new DenseShape(13, 29, 24); // a shape no other test uses, so no other test's choice is read
        var act = FusedActivation.Parametric(new PReluShape(13, [24]));
        using var reference = new ManagedBackend();
        var expected = RunDense(reference, shape, act);

        using (var first = OpenClBackend.Create())
        {
            first.Tune = true;
            var actual = RunDense(first, shape, act);
            for (int i = 0; i < expected.Length; i++)
                Close.Assert(expected[i], actual[i], i == 0 ? Close.Forward : Close.Gradient, $"tuned dense, result {i}");
            // Forward, kernel gradient and input gradient: three products, each timed or read back.
            Assert.Equal(3, first.TuningLog.Count);
            Assert.All(first.TuningLog, line => Assert.Matches(@"(; took \d+x\d+x\d+.* s with the build\)$)|(\(tuned before; .+\.tile\)$)", line));
        }

        using var second = OpenClBackend.Create();
        second.Tune = true;
        var again = RunDense(second, shape, act);
        for (int i = 0; i < expected.Length; i++)
            Close.Assert(expected[i], again[i], i == 0 ? Close.Forward : Close.Gradient, $"tuned dense read back, result {i}");
        Assert.Equal(3, second.TuningLog.Count);
        Assert.All(second.TuningLog, line => Assert.Contains("(tuned before; ", line, StringComparison.Ordinal));
    }

    private static float[][] RunDense(Backend backend, DenseShape s, FusedActivation act)
    {
        using var x = backend.Allocate(Det.Floats(s.InputLength, 11));
        using var k = backend.Allocate(Det.Floats(s.KernelLength, 12, -0.5, 0.5));
        using var b = backend.Allocate(Det.Floats(s.BiasLength, 13));
        using var alpha = backend.Allocate(Det.Floats(act.PRelu!.AlphaLength, 14, 0, 0.5));
        using var z = backend.Allocate(s.OutputLength);
        using var y = backend.Allocate(s.OutputLength);
        using var dy = backend.Allocate(Det.Floats(s.OutputLength, 15));
        using var dx = backend.Allocate(s.InputLength);
        using var dk = backend.Allocate(s.KernelLength);
        using var db = backend.Allocate(s.BiasLength);
        using var dalpha = backend.Allocate(act.PRelu.AlphaLength);
        backend.DenseForward(s, act, x, k, b, alpha, z, y);
        backend.DenseBackward(s, act, x, k, alpha, z, dy, dx, dk, db, dalpha);
        return [backend.ToArray(y), backend.ToArray(dx), backend.ToArray(dk), backend.ToArray(db), backend.ToArray(dalpha)];
    }
}
