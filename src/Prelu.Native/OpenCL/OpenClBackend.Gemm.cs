using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Prelu.Kernels;
using Silk.NET.OpenCL;

namespace Prelu.Native.OpenCL;

/// <summary>
/// One product C (M x N) = A (M x K) * B (K x N) as gemm.cl computes it: A(i, k) = a[i * ARowStride +
/// k * AKStride] (so a transposed operand is read in place), B(k, j) = b[k * BKStride + j]. With
/// <see cref="Epilogue"/>, C = act(A * B + bias) and the pre-activation is kept; RowsPerSample says
/// which rows make one sample (for per-element PReLU alphas).
/// </summary>
internal readonly record struct GemmProduct(int M, int N, int K, int ARowStride, int AKStride, int BKStride, int RowsPerSample, bool Epilogue)
{
    public override string ToString() => $"{M}x{K} * {K}x{N}";
}

/// <summary>
/// How gemm.cl splits a product: Rows x (VectorWidth x Vectors) outputs per work-item, K in Slices. A
/// <see cref="Local"/> tile is gemm_local's: work-groups of 8 x 8 work-items staging A and B in local memory,
/// 4 rows of one vector each (Rows 4, Vectors 1).
/// </summary>
internal readonly record struct GemmTile(int Rows, int VectorWidth, int Vectors, int Slices, bool Local = false)
{
    /// <summary>gemm_local's work-group: LX x LY work-items (gemm.cl's LX, LY).</summary>
    public const int LocalX = 8, LocalY = 8;

    public static GemmTile InLocalMemory(int vectorWidth, int slices) => new(4, vectorWidth, 1, slices, Local: true);

    public override string ToString() => (Local ? "local " : "") + $"{Rows}x{Vectors}x{VectorWidth}" + (Slices > 1 ? $" (K in {Slices} slices)" : "");
}

// The products of convolutions and dense layers: one program per set of tiles (any product shape),
// the fastest of which a small tuner picks on first use.
public sealed unsafe partial class OpenClBackend
{
    /// <summary>PRELU_OPENCL_TUNE=0 skips the tuner: every product takes the first candidate tile.</summary>
    public const string TuneVariable = "PRELU_OPENCL_TUNE";

    /// <summary>
    /// Whether a product's first use times its candidate tiles and keeps the fastest (cached per device,
    /// driver, source and shape beside the program binaries). Default: on, unless PRELU_OPENCL_TUNE=0.
    /// On PoCL the candidates' program costs a few seconds per set of tiles, and each product shape's timing a moment, once per machine.
    /// </summary>
    public bool Tune { get; set; } = Environment.GetEnvironmentVariable(TuneVariable) != "0";

    // Columns and Rows: the NDRange's first two sizes; a local tile's launch also gives its work-group size.
    private sealed record GemmPlan(ProgramKey Program, string Kernel, GemmTile Tile, int KChunk, long Columns, long Rows, GemmProduct Product);

    private readonly Dictionary<GemmProduct, GemmPlan> _gemmPlans = [];

    // What the device is, for the tile choice (the float vector width it prefers, its compute units) and the
    // caches' keys (its driver).
    private int _preferredVectorWidth, _computeUnits, _maxWorkGroupSize;
    // How many bytes every buffer's start is aligned to (CL_DEVICE_MEM_BASE_ADDR_ALIGN, given in bits).
    private int _baseAlignment;
    private string _driverVersion = "";

    private void ReadDeviceLimits()
    {
        uint width = 0, units = 0;
        nuint groupSize = 0;
        uint alignBits = 0;
        _cl.GetDeviceInfo(_device, DeviceInfo.MemBaseAddrAlign, sizeof(uint), &alignBits, null);
        _baseAlignment = (int)(alignBits / 8);
        _cl.GetDeviceInfo(_device, DeviceInfo.PreferredVectorWidthFloat, sizeof(uint), &width, null);
        _cl.GetDeviceInfo(_device, DeviceInfo.MaxComputeUnits, sizeof(uint), &units, null);
        _cl.GetDeviceInfo(_device, DeviceInfo.MaxWorkGroupSize, (nuint)sizeof(nuint), &groupSize, null);
        _maxWorkGroupSize = (int)Math.Clamp(groupSize, 1, 1024);
        _preferredVectorWidth = (int)Math.Max(1, width);
        _computeUnits = (int)Math.Max(1, units);
        _driverVersion = OpenClDevices.DeviceText(_cl, _device, DeviceInfo.DriverVersion);
    }

    /// <summary>A test seam: the one tile for each product, instead of the candidates and the tuner (its vector width must divide N).</summary>
    internal Func<GemmProduct, GemmTile>? TileChoice { get; set; }

    /// <summary>What the tuner did, one line per product: the tiles' times and the choice, or the cached choice.</summary>
    public IReadOnlyList<string> TuningLog => _tuningLog;

    private readonly List<string> _tuningLog = [];

    /// <summary>
    /// The tiles worth trying for a product on this device, the first being the untuned choice. A CPU
    /// (PoCL) gets the shapes of CPU micro-kernels (6 x 32 outputs of its widest vectors first: enough
    /// accumulators to hide the FMA latency in registers); a GPU 4 x 8 per work-item of float4 and
    /// neighbours. Weight gradients (long K, few outputs) split K into slices when the outputs alone would
    /// leave compute units idle.
    /// </summary>
    internal IReadOnlyList<GemmTile> Candidates(in GemmProduct p)
    {
        int width = Device.IsGpu ? 4 : Math.Clamp(_preferredVectorWidth, 4, 16);
        while (p.N % width != 0)
            width /= 2;
        (int Rows, int Columns)[] shapes = Device.IsGpu
            ? [(4, 8), (4, 4), (8, 4), (2, 8), (8, 8)]
            : [(6, 2 * width), (4, 2 * width), (8, width), (4, 4 * width), (2, 4 * width)];
        var tiles = new List<GemmTile>();
        foreach (var (rows, columns) in shapes)
        {
            int vectors = Math.Clamp(columns / width, 1, Math.Min(8, p.N / width));
            var tile = new GemmTile(rows, width, vectors, Slices(p, (long)Ceiling(p.N / width, vectors) * Ceiling(p.M, rows)));
            if (!tiles.Contains(tile))
                tiles.Add(tile);
        }
        if (Device.IsGpu)
        {
            long workItems = (long)Ceiling(p.N, GemmTile.LocalX * width) * Ceiling(p.M, GemmTile.LocalY * 4) * GemmTile.LocalX * GemmTile.LocalY;
            tiles.Add(GemmTile.InLocalMemory(width, Slices(p, workItems)));
        }
        return tiles;
    }

    // Slices of K for a product whose outputs take this many work-items: enough work-items for the device
    // (a GPU wants hundreds per compute unit), each slice at least 64 deep; one for a fused epilogue.
    private int Slices(in GemmProduct p, long workItems)
    {
        if (p.Epilogue)
            return 1;
        long wanted = (long)_computeUnits * (Device.IsGpu ? 256 : 8);
        return (int)Math.Clamp((wanted + workItems - 1) / workItems, 1, Math.Max(1, p.K / 64));
    }

    private GemmPlan Plan(in GemmProduct p)
    {
        if (_gemmPlans.TryGetValue(p, out var plan))
            return plan;
        IReadOnlyList<GemmTile> tiles = TileChoice is { } choose ? [choose(p)] : Candidates(p);
        if (tiles.Count == 1 || !Tune)
            return _gemmPlans[p] = Plans(p, [tiles[0]])[0];
        // The tuner's pick; if no variant of the program could build or run, the first tile alone.
        return _gemmPlans[p] = Tuned(p, Plans(p, tiles)) ?? Plans(p, [tiles[0]])[0];
    }

    // One program holding the tiles as kernels gemm_0, gemm_1, ..., and a plan for each. The program depends on the
    // tiles alone (and whether there is an epilogue): products of every shape that take the same tiles share it.
    private static GemmPlan[] Plans(GemmProduct p, IReadOnlyList<GemmTile> tiles)
    {
        foreach (var tile in tiles)
        {
            if (p.N % tile.VectorWidth != 0 || (p.Epilogue && tile.Slices > 1) || tile.Rows > 8 || tile.Vectors > 8 || tile.VectorWidth != tiles[0].VectorWidth
                || (tile.Local && (tile.Rows, tile.Vectors) != (4, 1)))
            {
                throw new ArgumentException($"tile {tile} does not fit the product {p}: its vector width must divide N (and be the same for " +
                    "every tile of a program), a fused epilogue needs one slice, a work-item holds at most 8 rows of 8 vectors, and a local tile is 4 x 1");
            }
        }
        var numbered = tiles.Where(tile => !tile.Local).ToList();
        var defines = new StringBuilder().Append(CultureInfo.InvariantCulture,
            $"-D VW={tiles[0].VectorWidth} -D EPILOGUE={(p.Epilogue ? 1 : 0)} -D VARIANTS={numbered.Count}");
        for (int v = 0; v < numbered.Count; v++)
            defines.Append(CultureInfo.InvariantCulture, $" -D MR_{v}={numbered[v].Rows} -D NV_{v}={numbered[v].Vectors}");
        if (numbered.Count < tiles.Count)
            defines.Append(" -D LOCAL_TILE");
        var program = new ProgramKey("gemm.cl", defines.ToString());
        return tiles.Select(tile => tile.Local
            ? new GemmPlan(program, "gemm_local", tile, Ceiling(p.K, tile.Slices),
                (long)Ceiling(p.N, GemmTile.LocalX * tile.VectorWidth) * GemmTile.LocalX, (long)Ceiling(p.M, GemmTile.LocalY * tile.Rows) * GemmTile.LocalY, p)
            : new GemmPlan(program, $"gemm_{numbered.IndexOf(tile)}", tile, Ceiling(p.K, tile.Slices),
                Ceiling(p.N / tile.VectorWidth, tile.Vectors), Ceiling(p.M, tile.Rows), p)).ToArray();
    }

    // The fastest of the plans for this product: from the cache of decisions (beside the program binaries,
    // keyed like them), else timed on scratch operands (one warm-up launch, best of two). A variant that
    // fails to build or run is skipped; null when none could.
    private GemmPlan? Tuned(in GemmProduct p, GemmPlan[] plans)
    {
        // Keyed by the program and the product's sizes and strides: one program serves every product of its tiles, and
        // the fastest tile may differ between them.
        string file = Path.Combine(CacheFolder,
            $"{ProgramHash(plans[0].Program)}-m{p.M}-n{p.N}-k{p.K}-a{p.ARowStride}.{p.AKStride}-b{p.BKStride}-r{p.RowsPerSample}.tile");
        if (ReadChoice(file) is int cached && cached < plans.Length)
        {
            _tuningLog.Add($"{p}: {plans[cached].Tile} (tuned before; {file})");
            return plans[cached];
        }
        long tuningStart = Stopwatch.GetTimestamp();
        long aLength = (long)(p.M - 1) * p.ARowStride + (long)(p.K - 1) * p.AKStride + 1;
        long bLength = (long)(p.K - 1) * p.BKStride + p.N;
        long cLength = plans.Max(plan => (long)plan.Tile.Slices) * p.M * p.N;
        using var a = AllocateCore(checked((int)aLength));
        using var b = AllocateCore(checked((int)bLength));
        using var c = AllocateCore(checked((int)cLength));
        using var z = AllocateCore(p.Epilogue ? p.M * p.N : 1);
        var times = new double[plans.Length];
        for (int v = 0; v < plans.Length; v++)
        {
            try
            {
                times[v] = double.PositiveInfinity;
                for (int run = 0; run < 3; run++)
                {
                    long start = Stopwatch.GetTimestamp();
                    LaunchGemm(plans[v], a, b, c, FusedActivation.Relu, null, null, p.Epilogue ? z : null, plans[v].Tile.Slices);
                    Synchronize();
                    if (run > 0)
                        times[v] = Math.Min(times[v], Stopwatch.GetElapsedTime(start).TotalSeconds);
                }
            }
            catch (ClException)
            {
                times[v] = double.PositiveInfinity; // a variant the device cannot build or run is not a choice
            }
        }
        int best = Array.IndexOf(times, times.Min());
        if (double.IsPositiveInfinity(times[best]))
        {
            _tuningLog.Add($"{p}: no tile could be built or run; the first is used alone");
            return null;
        }
        _tuningLog.Add($"{p}: " + string.Join(", ", plans.Select((plan, v) =>
            string.Create(CultureInfo.InvariantCulture, $"{plan.Tile} {times[v] * 1000:F2} ms"))) +
            string.Create(CultureInfo.InvariantCulture, $"; took {plans[best].Tile} ({Stopwatch.GetElapsedTime(tuningStart).TotalSeconds:F2} s with the build)"));
        CacheFile.TryWrite(file, best.ToString(CultureInfo.InvariantCulture));
        return plans[best];
    }

    private static int? ReadChoice(string path) =>
        int.TryParse(CacheFile.TryReadText(path)?.Trim(), CultureInfo.InvariantCulture, out int index) && index >= 0 ? index : null;

    private static int Ceiling(int value, int divisor) => (value + divisor - 1) / divisor;

    /// <summary>c = a * b, plain (a gradient product).</summary>
    private void Gemm(in GemmProduct p, DeviceBuffer a, DeviceBuffer b, DeviceBuffer c)
    {
        var plan = Plan(p);
        if (plan.Tile.Slices == 1)
        {
            LaunchGemm(plan, a, b, c, FusedActivation.Linear, null, null, null, slices: 1);
            return;
        }
        var partials = Scratch(ScratchSlot.GemmSlices, (long)plan.Tile.Slices * p.M * p.N);
        LaunchGemm(plan, a, b, partials, FusedActivation.Linear, null, null, null, plan.Tile.Slices);
        Run("sum_slices").Int(plan.Tile.Slices).Int(p.M * p.N).Memory(partials).Buffer(c).Run((long)p.M * p.N);
    }

    /// <summary>output = act(a * b + bias), keeping the pre-activation in z when given (a layer's forward).</summary>
    private void Gemm(in GemmProduct p, DeviceBuffer a, DeviceBuffer b, DeviceBuffer output, FusedActivation activation, DeviceBuffer? bias,
        DeviceBuffer? alpha, DeviceBuffer? z) =>
        LaunchGemm(Plan(p), a, b, output, activation, bias, alpha, z, slices: 1);

    private void LaunchGemm(GemmPlan plan, DeviceBuffer a, DeviceBuffer b, DeviceBuffer c, FusedActivation activation, DeviceBuffer? bias,
        DeviceBuffer? alpha, DeviceBuffer? z, int slices)
    {
        int sharing = Sharing(activation, out _, out var groups);
        Run(plan.Kernel, plan.Program).Buffer(a).Buffer(b).Buffer(c).Buffer(bias).Int(bias is null ? 0 : 1).Int((int)activation.Kind)
            .Float(activation.Parameter).Int(sharing).Buffer(alpha).Memory(groups?.Map ?? 0).Buffer(z).Int(z is null ? 0 : 1).Int(plan.KChunk)
            .Int(plan.Product.M).Int(plan.Product.K).Int(plan.Product.N).Int(plan.Product.ARowStride).Int(plan.Product.AKStride)
            .Int(plan.Product.BKStride).Int(plan.Product.RowsPerSample).Run(plan.Columns, plan.Rows, slices, plan.Tile.Local ? GemmTile.LocalX : 0, plan.Tile.Local ? GemmTile.LocalY : 0);
    }
}
