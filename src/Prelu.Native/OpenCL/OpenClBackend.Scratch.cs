using Prelu.Kernels;
using Silk.NET.OpenCL;

namespace Prelu.Native.OpenCL;

/// <summary>The backend's own device buffers between kernels of one call; each grows to the largest use.</summary>
internal enum ScratchSlot
{
    /// <summary>A convolution's im2col matrix (N * OH * OW, KH * KW * C).</summary>
    Columns,

    /// <summary>The gradient of the im2col matrix, before col2im adds it up.</summary>
    ColumnGradients,

    /// <summary>A kernel transposed, the B of an input-gradient product.</summary>
    TransposedKernel,

    /// <summary>The partial products of a GEMM whose K is split into slices.</summary>
    GemmSlices,

    /// <summary>Partial column sums (bias and alpha gradients, penalties), added in order by a second kernel.</summary>
    Partials,

    /// <summary>Per-feature sums before they are gathered into groups (PReLU alphas shared along irregular axes).</summary>
    FeatureSums,

    /// <summary>PReLU's alpha-gradient terms at a pooling's winners (z * g where z is not positive), one per pooled element.</summary>
    WinnerTerms,

    /// <summary>A constraint's squared norms, one per group.</summary>
    Norms,

    /// <summary>Softmax's per-row losses and hits, added into the metrics in row order.</summary>
    Rows,

    /// <summary>Batch normalisation's per-channel mean and variance (2 x channels).</summary>
    Statistics,

    /// <summary>Batch normalisation's per-channel gradient sums, dL/dbeta then dL/dgamma (2 x channels).</summary>
    GradientSums,
}

// Scratch buffers, and the index tables of grouped elements (irregular PReLU sharing, constraint norms).
public sealed unsafe partial class OpenClBackend
{
    private readonly DeviceBuffer?[] _scratch = new DeviceBuffer?[Enum.GetValues<ScratchSlot>().Length];

    private DeviceBuffer Scratch(ScratchSlot slot, long length)
    {
        ref var buffer = ref _scratch[(int)slot];
        if (buffer is null || buffer.Length < length)
        {
            buffer?.Dispose(); // the driver keeps it until the kernels queued on it have run
            buffer = AllocateCore(checked((int)length));
        }
        return buffer;
    }

    /// <summary>
    /// Elements grouped along reduced axes, on the device: the group of every element (Map), and the
    /// elements of each group in ascending order (Members[Offsets[g] .. Offsets[g + 1])), so that a
    /// group's sum is one work-item's loop in a fixed order.
    /// </summary>
    private sealed record IndexTable(nint Map, nint Offsets, nint Members, int Groups);

    private readonly Dictionary<string, IndexTable> _tables = [];

    // PReLU's alphas over irregular shared axes: the groups the shape already maps its features to.
    private IndexTable Table(PReluShape prelu) =>
        Table($"prelu {string.Join(',', prelu.FeatureDims)}/{string.Join(',', prelu.SharedAxes)}", () => (prelu.AlphaMap.ToArray(), prelu.AlphaLength));

    // A constraint's norm groups of a parameter of shape dims.
    private IndexTable Table(IReadOnlyList<int> dims, IReadOnlyList<int> normAxes) =>
        Table($"norms {string.Join(',', dims)}/{string.Join(',', normAxes)}", () =>
        {
            var groups = new AxisGroups(dims, normAxes);
            return (groups.GroupMap.ToArray(), groups.GroupCount);
        });

    private IndexTable Table(string key, Func<(int[] Map, int Groups)> groups)
    {
        if (_tables.TryGetValue(key, out var table))
            return table;
        var (map, count) = groups();
        var offsets = new int[count + 1];
        foreach (var group in map)
            offsets[group + 1]++;
        for (int g = 0; g < count; g++)
            offsets[g + 1] += offsets[g];
        var members = new int[map.Length];
        var next = offsets[..^1];
        for (int element = 0; element < map.Length; element++)
            members[next[map[element]]++] = element;
        return _tables[key] = new IndexTable(IntBuffer(map), IntBuffer(offsets), IntBuffer(members), count);
    }

    private nint IntBuffer(ReadOnlySpan<int> values)
    {
        int error;
        nint memory;
        fixed (int* v = values)
            memory = _cl.CreateBuffer(_context, MemFlags.ReadOnly | MemFlags.CopyHostPtr, (nuint)Math.Max(values.Length, 1) * sizeof(int), v, &error);
        ClException.Check(error, "clCreateBuffer(index table)");
        return memory;
    }

    private void ReleaseScratch()
    {
        foreach (var buffer in _scratch)
            buffer?.Dispose();
        foreach (var table in _tables.Values)
        {
            _cl.ReleaseMemObject(table.Map);
            _cl.ReleaseMemObject(table.Offsets);
            _cl.ReleaseMemObject(table.Members);
        }
    }
}
