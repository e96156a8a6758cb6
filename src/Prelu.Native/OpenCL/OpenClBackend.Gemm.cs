using Prelu.Kernels;
using Silk.NET.OpenCL;

namespace Prelu.Native.OpenCL;

/// <summary>
/// One product C (M x N) = A (M x K) * B (K x N) as gemm.cl computes it: A(i, k) = a[i * ARowStride +
/// k * AKStride] (so a transposed operand is read in place), B(k, j) = b[k * BKStride + j]. With
/// <see cref="Epilogue"/>, C = act(A * B + bias) and the pre-activation is kept; RowsPerSample says
/// which rows make one sample (for per-element PReLU alphas).
/// </summary>
internal readonly record struct GemmProduct(int M, int N, int K, int ARowStride, int AKStride, int BKStride, int RowsPerSample, bool Epilogue);

/// <summary>How gemm.cl splits a product: Rows x (VectorWidth x Vectors) outputs per work-item, K in Slices.</summary>
internal readonly record struct GemmTile(int Rows, int VectorWidth, int Vectors, int Slices)
{
    public override string ToString() => $"{Rows}x{Vectors}x{VectorWidth}" + (Slices > 1 ? $", K in {Slices} slices" : "");
}

// The products of convolutions and dense layers: one program per product shape and tile.
public sealed unsafe partial class OpenClBackend
{
    private sealed record GemmPlan(ProgramKey Program, GemmTile Tile, int KChunk, long Columns, long Rows);

    private readonly Dictionary<GemmProduct, GemmPlan> _gemmPlans = [];

    // What the device is, for the tile choice: the float vector width it prefers and its compute units.
    private int _preferredVectorWidth, _computeUnits;

    private void ReadDeviceLimits()
    {
        uint width = 0, units = 0;
        _cl.GetDeviceInfo(_device, DeviceInfo.PreferredVectorWidthFloat, sizeof(uint), &width, null);
        _cl.GetDeviceInfo(_device, DeviceInfo.MaxComputeUnits, sizeof(uint), &units, null);
        _preferredVectorWidth = (int)Math.Max(1, width);
        _computeUnits = (int)Math.Max(1, units);
    }

    /// <summary>
    /// The tile for a product on this device. A CPU (PoCL) gets the shape of a CPU micro-kernel: 6 rows of
    /// two of its widest vectors, enough accumulators to hide the FMA latency in its registers. A GPU gets
    /// 4 x 8 per work-item (float4 loads) and many more work-items. Weight gradients (long K, few outputs)
    /// split K into slices when the outputs alone would leave compute units idle.
    /// </summary>
    internal GemmTile ChooseTile(in GemmProduct p)
    {
        int widest = Device.IsGpu ? 4 : Math.Clamp(_preferredVectorWidth, 4, 16);
        int width = widest;
        while (p.N % width != 0)
            width /= 2;
        int vectors = Math.Min(p.N / width, Math.Max(1, (Device.IsGpu ? 8 : 2 * widest) / width));
        int rows = Device.IsGpu ? 4 : 6;
        long items = (long)Ceiling(p.N / width, vectors) * Ceiling(p.M, rows);
        long wanted = (long)_computeUnits * (Device.IsGpu ? 256 : 8);
        int slices = p.Epilogue ? 1 : (int)Math.Clamp((wanted + items - 1) / items, 1, Math.Max(1, p.K / 64));
        return new GemmTile(rows, width, vectors, slices);
    }

    /// <summary>A test seam: the tile for each product instead of <see cref="ChooseTile"/> (its vector width must divide N).</summary>
    internal Func<GemmProduct, GemmTile>? TileChoice { get; set; }

    private GemmPlan Plan(in GemmProduct p)
    {
        if (_gemmPlans.TryGetValue(p, out var plan))
            return plan;
        var tile = TileChoice?.Invoke(p) ?? ChooseTile(p);
        if (p.N % tile.VectorWidth != 0 || (p.Epilogue && tile.Slices > 1))
            throw new ArgumentException($"tile {tile} does not fit the product {p}: its vector width must divide N, and a fused epilogue needs one slice");
        int kChunk = Ceiling(p.K, tile.Slices);
        string defines = $"-D M={p.M} -D N={p.N} -D K={p.K} -D A_RS={p.ARowStride} -D A_KS={p.AKStride} -D B_KS={p.BKStride} " +
            $"-D MR={tile.Rows} -D VW={tile.VectorWidth} -D NV={tile.Vectors} -D KCHUNK={kChunk} -D EPILOGUE={(p.Epilogue ? 1 : 0)} " +
            $"-D ROWS_PER_SAMPLE={p.RowsPerSample}";
        return _gemmPlans[p] = new GemmPlan(new ProgramKey("gemm.cl", defines), tile with { Slices = Ceiling(p.K, kChunk) }, kChunk,
            Ceiling(p.N / tile.VectorWidth, tile.Vectors), Ceiling(p.M, tile.Rows));
    }

    private static int Ceiling(int value, int divisor) => (value + divisor - 1) / divisor;

    /// <summary>c = a * b, plain (a gradient product).</summary>
    private void Gemm(in GemmProduct p, DeviceBuffer a, DeviceBuffer b, DeviceBuffer c)
    {
        var plan = Plan(p);
        if (plan.Tile.Slices == 1)
        {
            GemmLaunch(plan, a, b, c).Buffer(null).Int(0).Int(0).Float(0).Int(0).Buffer(null).Memory(0).Buffer(null).Int(0)
                .Run(plan.Columns, plan.Rows, 1);
            return;
        }
        var partials = Scratch(ScratchSlot.GemmSlices, plan.Tile.Slices * p.M * p.N);
        GemmLaunch(plan, a, b, partials).Buffer(null).Int(0).Int(0).Float(0).Int(0).Buffer(null).Memory(0).Buffer(null).Int(0)
            .Run(plan.Columns, plan.Rows, plan.Tile.Slices);
        Run("gemm_sum_slices", plan.Program).Memory(partials).Buffer(c).Run((long)p.M * p.N);
    }

    /// <summary>output = act(a * b + bias), keeping the pre-activation in z when given (a layer's forward).</summary>
    private void Gemm(in GemmProduct p, DeviceBuffer a, DeviceBuffer b, DeviceBuffer output, FusedActivation activation, DeviceBuffer? bias,
        DeviceBuffer? alpha, DeviceBuffer? z)
    {
        var plan = Plan(p);
        var sharing = Sharing(activation, out _, out var map);
        GemmLaunch(plan, a, b, output).Buffer(bias).Int(bias is null ? 0 : 1).Int((int)activation.Kind).Float(activation.LeakyAlpha)
            .Int(sharing).Buffer(alpha).Memory(map).Buffer(z).Int(z is null ? 0 : 1).Run(plan.Columns, plan.Rows, 1);
    }

    private Launch GemmLaunch(GemmPlan plan, DeviceBuffer a, DeviceBuffer b, DeviceBuffer c) =>
        Run("gemm", plan.Program).Buffer(a).Buffer(b).Buffer(c);
}
