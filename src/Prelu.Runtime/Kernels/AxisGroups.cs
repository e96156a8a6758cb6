namespace Prelu.Kernels;

/// <summary>
/// A tensor of shape <see cref="Dims"/> whose elements are grouped along <see cref="ReducedAxes"/>:
/// elements that differ only on reduced axes share a group. The group tensor has the shape of the
/// tensor with size 1 on each reduced axis. PReLU's alphas are the groups of the feature shape with the
/// shared axes reduced; a MaxNorm constraint's norms are the groups of a kernel with its norm axes reduced.
/// </summary>
public sealed class AxisGroups
{
    private readonly int[] _groupOf;

    /// <param name="dims">The tensor's shape, outermost first.</param>
    /// <param name="reducedAxes">0-based axes whose positions share a group.</param>
    public AxisGroups(IReadOnlyList<int> dims, IReadOnlyList<int> reducedAxes)
    {
        if (dims.Count == 0)
            throw new ArgumentException("a tensor of rank 0 has no axes to group", nameof(dims));
        foreach (var size in dims)
        {
            if (size <= 0)
                throw new ArgumentException($"every dimension must be at least 1; got [{string.Join(", ", dims)}]", nameof(dims));
        }
        var reduced = new bool[dims.Count];
        foreach (var axis in reducedAxes)
        {
            if (axis < 0 || axis >= dims.Count)
                throw new ArgumentOutOfRangeException(nameof(reducedAxes), axis, $"axis {axis} is outside a tensor of rank {dims.Count}");
            if (reduced[axis])
                throw new ArgumentException($"axis {axis} is listed twice", nameof(reducedAxes));
            reduced[axis] = true;
        }
        Dims = [.. dims];
        ReducedAxes = [.. reducedAxes.Order()];
        GroupDims = dims.Select((size, axis) => reduced[axis] ? 1 : size).ToArray();
        Length = Dims.Aggregate(1, (a, b) => checked(a * b));
        GroupCount = GroupDims.Aggregate(1, (a, b) => a * b);

        // Element index -> group index, walking the axes innermost first.
        _groupOf = new int[Length];
        var position = new int[dims.Count];
        for (int index = 0; index < Length; index++)
        {
            int group = 0;
            for (int axis = 0; axis < position.Length; axis++)
                group = group * GroupDims[axis] + (reduced[axis] ? 0 : position[axis]);
            _groupOf[index] = group;
            for (int axis = position.Length - 1; axis >= 0 && ++position[axis] == Dims[axis]; axis--)
                position[axis] = 0;
        }
    }

    /// <summary>The tensor's shape.</summary>
    public IReadOnlyList<int> Dims { get; }
    /// <summary>The axes whose elements share a group (0-based).</summary>
    public IReadOnlyList<int> ReducedAxes { get; }

    /// <summary>The group tensor's shape: <see cref="Dims"/> with 1 on each reduced axis.</summary>
    public IReadOnlyList<int> GroupDims { get; }

    /// <summary>Elements in the tensor.</summary>
    public int Length { get; }
    /// <summary>Groups: elements in the group tensor.</summary>
    public int GroupCount { get; }

    /// <summary>The group of the element at flat (row-major) <paramref name="index"/>.</summary>
    public int GroupOf(int index) => _groupOf[index];

    /// <summary>The group of every element, by flat index.</summary>
    public ReadOnlySpan<int> GroupMap => _groupOf;
}
