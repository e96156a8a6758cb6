namespace Prelu.Kernels;

/// <summary>
/// How a merge layer combines tensors of one shape, element by element, in the inputs' order (Keras's Add, Multiply,
/// Average and Maximum). The numbers are shared with prelu.h and prelu.cl.
/// </summary>
public enum MergeKind
{
    /// <summary>((x0 + x1) + x2) ...; each input's gradient is the output's.</summary>
    Add = 0,

    /// <summary>((x0 * x1) * x2) ...; input i's gradient is dy times the other inputs, multiplied in order.</summary>
    Multiply = 1,

    /// <summary>The sum as <see cref="Add"/>, divided by the count; each input's gradient is dy divided by the count.</summary>
    Average = 2,

    /// <summary>
    /// The largest; its gradient goes to the first input that holds the maximum (Keras folds tf.maximum, whose
    /// gradient goes to its first argument on a tie), the others get zero.
    /// </summary>
    Maximum = 3,
}

/// <summary>
/// Tensors joined along one axis (Keras's Concatenate): each input seen as (Rows, Widths[i]), where Rows is the batch
/// times the sizes before the axis and Widths[i] the input's size from the axis on; the output is (Rows, Width), each
/// row the inputs' rows one after another.
/// </summary>
public readonly record struct ConcatenateShape
{
    private readonly int[] _widths;

    /// <summary>A concatenation of inputs of <paramref name="widths"/> floats per row, <paramref name="rows"/> rows each.</summary>
    public ConcatenateShape(int rows, params int[] widths)
    {
        ArgumentNullException.ThrowIfNull(widths);
        ShapeChecks.Positive(nameof(ConcatenateShape), (nameof(rows), rows));
        if (widths.Length < 1)
            throw new ArgumentException($"{nameof(ConcatenateShape)}: at least one input is needed", nameof(widths));
        foreach (int w in widths)
            ShapeChecks.Positive(nameof(ConcatenateShape), ("a width", w));
        Rows = rows;
        _widths = (int[])widths.Clone();
        Width = widths.Sum();
    }

    /// <summary>The batch times the sizes before the axis.</summary>
    public int Rows { get; }

    /// <summary>Each input's width: its size from the axis on.</summary>
    public ReadOnlySpan<int> Widths => _widths;

    /// <summary>The output's width, the sum of the inputs'.</summary>
    public int Width { get; }

    /// <summary>Inputs joined.</summary>
    public int Count => _widths.Length;

    /// <summary>Floats in input <paramref name="input"/>.</summary>
    public int InputLength(int input) => Rows * _widths[input];

    /// <summary>Floats in the output (Rows, Width).</summary>
    public int OutputLength => Rows * Width;

    /// <summary>Where input <paramref name="input"/>'s part of an output row starts.</summary>
    public int Offset(int input)
    {
        int offset = 0;
        for (int i = 0; i < input; i++)
            offset += _widths[i];
        return offset;
    }
}
