using Prelu.Backends;
using Prelu.Kernels;

namespace Prelu.Runtime.Tests.Kernels;

/// <summary>
/// Keras's merge layers, Concatenate and the gradient sums of the contract, on values worked out by hand: the
/// semantics every backend is then held to by the agreement suite (to the reference's bits).
/// </summary>
public sealed class MergeTests : IDisposable
{
    private readonly ManagedBackend _backend = new();

    public void Dispose() => _backend.Dispose();

    private DeviceBuffer[] Buffers(params float[][] values) => values.Select(v => _backend.Allocate(v)).ToArray();

    private (float[] Y, float[][] Grads) Run(MergeKind kind, float[] dy, params float[][] inputs)
    {
        var x = Buffers(inputs);
        using var y = _backend.Allocate(dy.Length);
        using var gradient = _backend.Allocate(dy);
        var grads = inputs.Select(_ => _backend.Allocate(dy.Length)).ToArray();
        _backend.MergeForward(kind, x, y);
        _backend.MergeBackward(kind, x, y, gradient, grads);
        return (_backend.ToArray(y), grads.Select(_backend.ToArray).ToArray());
    }

    [Fact]
    public void Add_sums_and_gives_every_input_the_output_gradient()
    {
        var (y, grads) = Run(MergeKind.Add, [0.5f, -2f], [1f, 2f], [3f, 4f], [5f, 6f]);
        Assert.Equal([9f, 12f], y);
        Assert.All(grads, g => Assert.Equal([0.5f, -2f], g));
    }

    [Fact]
    public void Average_divides_the_sum_and_its_gradient_by_the_count()
    {
        var (y, grads) = Run(MergeKind.Average, [3f, -6f], [1f, 2f], [3f, 4f], [5f, 9f]);
        Assert.Equal([3f, 5f], y);
        Assert.All(grads, g => Assert.Equal([1f, -2f], g));
    }

    [Fact]
    public void Multiply_gives_each_input_the_gradient_times_the_others()
    {
        var (y, grads) = Run(MergeKind.Multiply, [1f, 2f], [2f, 3f], [4f, 5f], [6f, 7f]);
        Assert.Equal([48f, 105f], y);
        Assert.Equal([24f, 70f], grads[0]); // dy * 4 * 6, dy * 5 * 7
        Assert.Equal([12f, 42f], grads[1]);
        Assert.Equal([8f, 30f], grads[2]);
    }

    [Fact]
    public void Maximum_gives_a_tied_maximums_gradient_to_the_first_input_that_holds_it()
    {
        var (y, grads) = Run(MergeKind.Maximum, [10f, 20f, 30f], [1f, 5f, -1f], [1f, 2f, -1f], [3f, 5f, -2f]);
        Assert.Equal([3f, 5f, -1f], y);
        Assert.Equal([0f, 20f, 30f], grads[0]); // ties at 5 (with the third) and -1 (with the second) go to the first
        Assert.Equal([0f, 0f, 0f], grads[1]);
        Assert.Equal([10f, 0f, 0f], grads[2]);
    }

    [Fact]
    public void A_gradient_not_wanted_is_left_alone()
    {
        var x = Buffers([2f], [3f]);
        using var y = _backend.Allocate(1);
        using var dy = _backend.Allocate([1f]);
        using var wanted = _backend.Allocate(1);
        _backend.MergeForward(MergeKind.Multiply, x, y);
        _backend.MergeBackward(MergeKind.Multiply, x, y, dy, [null, wanted]);
        Assert.Equal([2f], _backend.ToArray(wanted));
    }

    [Fact]
    public void Concatenate_places_each_inputs_rows_side_by_side_and_splits_the_gradient_back()
    {
        var shape = new ConcatenateShape(2, 1, 2);
        var parts = Buffers([1f, 2f], [3f, 4f, 5f, 6f]);
        using var joined = _backend.Allocate(shape.OutputLength);
        _backend.ConcatenateForward(shape, parts, joined);
        Assert.Equal([1f, 3f, 4f, 2f, 5f, 6f], _backend.ToArray(joined));

        using var dy = _backend.Allocate([10f, 30f, 40f, 20f, 50f, 60f]);
        var grads = Buffers(new float[2], new float[4]);
        _backend.ConcatenateBackward(shape, dy, grads);
        Assert.Equal([10f, 20f], _backend.ToArray(grads[0]));
        Assert.Equal([30f, 40f, 50f, 60f], _backend.ToArray(grads[1]));
    }

    [Fact]
    public void Accumulate_adds_a_gradient_into_a_total()
    {
        var (gradient, total) = (_backend.Allocate([1f, -2f]), _backend.Allocate([0.5f, 0.5f]));
        _backend.Accumulate(gradient, total);
        Assert.Equal([1.5f, -1.5f], _backend.ToArray(total));
    }

    [Fact]
    public void Wrong_merges_are_refused_by_name()
    {
        var two = Buffers([1f, 2f], [3f, 4f]);
        var three = Buffers([1f, 2f, 3f]);
        using var y = _backend.Allocate(2);

        Assert.Contains("at least one input", Assert.Throws<ArgumentException>(() => _backend.MergeForward(MergeKind.Add, [], y)).Message,
            StringComparison.Ordinal);
        Assert.Contains("inputs holds 3 floats, the shape needs 2",
            Assert.Throws<ArgumentException>(() => _backend.MergeForward(MergeKind.Add, [two[0], three[0]], y)).Message, StringComparison.Ordinal);
        Assert.Contains("2 inputs and 1 input gradients",
            Assert.Throws<ArgumentException>(() => _backend.MergeBackward(MergeKind.Add, two, y, y, [two[0]])).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => _backend.MergeForward((MergeKind)9, two, y));
        Assert.Contains("3 inputs for a shape of 2",
            Assert.Throws<ArgumentException>(() => _backend.ConcatenateForward(new ConcatenateShape(1, 2, 2), [two[0], two[1], two[0]], _backend.Allocate(4)))
                .Message, StringComparison.Ordinal);
        Assert.Contains("total holds 3 floats, the shape needs 2",
            Assert.Throws<ArgumentException>(() => _backend.Accumulate(two[0], three[0])).Message, StringComparison.Ordinal);
    }
}
