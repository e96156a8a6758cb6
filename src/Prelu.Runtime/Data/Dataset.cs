using Prelu.Kernels;

namespace Prelu;

/// <summary>
/// Samples of float32 features of one shape and their targets, in memory, as Keras's <c>fit(x, y)</c> takes them:
/// float targets (regression values, one or several 0/1 labels, one-hot or soft class rows), or one class index per
/// sample. Built from arrays or <see cref="ReadOnlyMemory{T}"/> without copying (<see cref="Copy(ReadOnlySpan{float}, IReadOnlyList{int}, ReadOnlySpan{float}, int)"/>
/// copies spans); every value is checked once, here, so that nothing bad reaches a kernel. Slices share memory with
/// the set they were cut from.
/// </summary>
public sealed class Dataset : IDataset
{
    private readonly ReadOnlyMemory<float> _features;
    private readonly ReadOnlyMemory<float> _targets;
    private readonly ReadOnlyMemory<int> _classes;
    private readonly int[] _sampleShape;

    /// <param name="features">(count, sampleShape), row-major: NHWC for images.</param>
    /// <param name="sampleShape">One sample's shape, e.g. (9) for nine features or (28, 28, 1) for an image.</param>
    /// <param name="targets">(count, targetLength): what each sample should give.</param>
    /// <param name="targetLength">Floats of target per sample: the model's output length.</param>
    public Dataset(ReadOnlyMemory<float> features, IReadOnlyList<int> sampleShape, ReadOnlyMemory<float> targets, int targetLength = 1)
    {
        _sampleShape = CheckShape(sampleShape);
        ArgumentOutOfRangeException.ThrowIfLessThan(targetLength, 1);
        Count = CheckFeatures(features, SampleLength);
        if (targets.Length != (long)Count * targetLength)
        {
            throw new ArgumentException($"targets holds {targets.Length} floats; {Count} samples need {(long)Count * targetLength} " +
                $"({targetLength} each)", nameof(targets));
        }
        CheckFinite(targets.Span, targetLength, nameof(targets));
        _features = features;
        _targets = targets;
        TargetLength = targetLength;
    }

    /// <param name="features">(count, sampleShape), row-major.</param>
    /// <param name="sampleShape">One sample's shape.</param>
    /// <param name="classes">Each sample's class, 0 to <paramref name="classCount"/> - 1.</param>
    /// <param name="classCount">How many classes there are.</param>
    public Dataset(ReadOnlyMemory<float> features, IReadOnlyList<int> sampleShape, ReadOnlyMemory<int> classes, int classCount)
    {
        _sampleShape = CheckShape(sampleShape);
        ArgumentOutOfRangeException.ThrowIfLessThan(classCount, 2);
        Count = CheckFeatures(features, SampleLength);
        if (classes.Length != Count)
            throw new ArgumentException($"classes holds {classes.Length} values; {Count} samples need one each", nameof(classes));
        var span = classes.Span;
        for (int row = 0; row < span.Length; row++)
        {
            if ((uint)span[row] >= (uint)classCount)
                throw new ArgumentException($"classes: row {row} is {span[row]}, outside the classes 0 to {classCount - 1}", nameof(classes));
        }
        _features = features;
        _classes = classes;
        ClassCount = classCount;
        TargetLength = 1;
    }

    // A slice of a checked set: nothing to check again.
    private Dataset(Dataset whole, int start, int count)
    {
        _sampleShape = whole._sampleShape;
        _features = whole._features.Slice(start * whole.SampleLength, count * whole.SampleLength);
        _targets = whole.ClassCount > 0 ? default : whole._targets.Slice(start * whole.TargetLength, count * whole.TargetLength);
        _classes = whole.ClassCount > 0 ? whole._classes.Slice(start, count) : default;
        Count = count;
        TargetLength = whole.TargetLength;
        ClassCount = whole.ClassCount;
    }

    /// <summary>A set of copies of <paramref name="features"/> and <paramref name="targets"/> (float targets).</summary>
    public static Dataset Copy(ReadOnlySpan<float> features, IReadOnlyList<int> sampleShape, ReadOnlySpan<float> targets, int targetLength = 1) =>
        new(features.ToArray(), sampleShape, targets.ToArray(), targetLength);

    /// <summary>A set of copies of <paramref name="features"/> and <paramref name="classes"/> (class indices).</summary>
    public static Dataset Copy(ReadOnlySpan<float> features, IReadOnlyList<int> sampleShape, ReadOnlySpan<int> classes, int classCount) =>
        new(features.ToArray(), sampleShape, classes.ToArray(), classCount);

    /// <summary>Samples.</summary>
    public int Count { get; }

    /// <summary>One sample's shape, without the batch axis.</summary>
    public IReadOnlyList<int> SampleShape => _sampleShape;

    /// <summary>Floats per sample.</summary>
    public int SampleLength => _sampleShape.Aggregate(1, (a, b) => a * b);

    /// <summary>Floats of target per sample (1 for class indices).</summary>
    public int TargetLength { get; }

    /// <summary>How many classes the class indices range over; 0 for float targets.</summary>
    public int ClassCount { get; }

    /// <summary>The features, (Count, SampleShape).</summary>
    public ReadOnlyMemory<float> Features => _features;

    /// <summary>The float targets, (Count, TargetLength); empty for class indices.</summary>
    public ReadOnlyMemory<float> Targets => _targets;

    /// <summary>The class indices, (Count); empty for float targets.</summary>
    public ReadOnlyMemory<int> Classes => _classes;

    /// <summary>Samples <paramref name="start"/> to <paramref name="start"/> + <paramref name="count"/>, sharing this set's memory.</summary>
    public Dataset Slice(int start, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(start + count, Count);
        return new Dataset(this, start, count);
    }

    IDataset IDataset.Slice(int start, int count) => Slice(start, count);

    /// <summary>Keras's <c>validation_split</c>: the last <paramref name="fraction"/> of the samples, before shuffling, to validate on.</summary>
    public (Dataset Train, Dataset Validation) SplitValidation(double fraction)
    {
        int splitAt = ValidationSplit.At(Count, fraction);
        return (Slice(0, splitAt), Slice(splitAt, Count - splitAt));
    }

    /// <summary>
    /// A seeded random part of the samples and the rest (pandas' <c>sample(frac=fraction)</c> and what it leaves, as
    /// TensorFlow's tutorials split a table into training and test data): round(Count * fraction) samples drawn by a
    /// shuffle of <paramref name="seed"/>, each part in the shuffled order, copied.
    /// </summary>
    public (Dataset Sample, Dataset Others) RandomSplit(double fraction, ulong seed)
    {
        if (!(fraction > 0 && fraction < 1))
            throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "the fraction must be in (0, 1)");
        int taken = (int)Math.Round(Count * fraction);
        if (taken == 0 || taken == Count)
            throw new ArgumentOutOfRangeException(nameof(fraction), fraction, $"a fraction of {fraction} leaves an empty part of {Count} samples");
        var order = Enumerable.Range(0, Count).ToArray();
        Initializers.SeededRandom.ForStream(seed, "split").Shuffle(order);
        return (Rows(order.AsSpan(0, taken)), Rows(order.AsSpan(taken)));
    }

    // The samples at these rows, copied in this order.
    private Dataset Rows(ReadOnlySpan<int> rows)
    {
        var features = new float[rows.Length * SampleLength];
        for (int i = 0; i < rows.Length; i++)
            _features.Span.Slice(rows[i] * SampleLength, SampleLength).CopyTo(features.AsSpan(i * SampleLength));
        if (ClassCount > 0)
        {
            var classes = new int[rows.Length];
            for (int i = 0; i < rows.Length; i++)
                classes[i] = _classes.Span[rows[i]];
            return new Dataset(features, _sampleShape, classes, ClassCount);
        }
        var targets = new float[rows.Length * TargetLength];
        for (int i = 0; i < rows.Length; i++)
            _targets.Span.Slice(rows[i] * TargetLength, TargetLength).CopyTo(targets.AsSpan(i * TargetLength));
        return new Dataset(features, _sampleShape, targets, TargetLength);
    }

    /// <summary>
    /// Class indices feed the categorical cross-entropies (one-hot rows or the indices) and, for two classes, binary
    /// cross-entropy of one output; float targets feed every loss but the sparse one, a row the length of the output.
    /// </summary>
    public string? TargetMismatch(in LossFunction loss, int outputLength)
    {
        if (ClassCount > 0)
        {
            return loss.Kind switch
            {
                LossKind.CategoricalCrossentropy or LossKind.SparseCategoricalCrossentropy when ClassCount != outputLength =>
                    $"the data has {ClassCount} classes; the model predicts {outputLength}",
                LossKind.CategoricalCrossentropy or LossKind.SparseCategoricalCrossentropy => null,
                LossKind.BinaryCrossentropy when ClassCount == 2 && outputLength == 1 => null,
                LossKind.BinaryCrossentropy => $"class indices feed binary_crossentropy only as two classes for one output; the data has " +
                    $"{ClassCount} classes and the model {outputLength} outputs: give float targets, a 0 or 1 per label",
                _ => $"class indices are not targets for {loss.KerasName}, which needs float targets of {outputLength} per sample",
            };
        }
        if (loss.SparseTargets)
            return $"sparse_categorical_crossentropy reads a class index per sample; this data has float targets of {TargetLength} per sample";
        return TargetLength != outputLength ? $"the targets have {TargetLength} floats per sample; the model predicts {outputLength}" : null;
    }

    /// <inheritdoc />
    public void GatherBatch(ReadOnlySpan<int> indices, Span<float> samples, Span<float> targets, in LossFunction loss, int outputLength)
    {
        int perTarget = ClassCount > 0 && loss.Kind == LossKind.CategoricalCrossentropy ? ClassCount : TargetLength;
        if (targets.Length != indices.Length * perTarget)
            throw new ArgumentException($"the target batch holds {targets.Length} floats; {indices.Length} samples need {indices.Length * perTarget}", nameof(targets));
        GatherSamples(indices, samples); // checks the indices and the sample batch
        if (perTarget != TargetLength)
            targets.Clear(); // one-hot rows
        for (int i = 0; i < indices.Length; i++)
        {
            int row = indices[i];
            if (ClassCount == 0)
                _targets.Span.Slice(row * TargetLength, TargetLength).CopyTo(targets.Slice(i * TargetLength, TargetLength));
            else if (perTarget == ClassCount)
                targets[i * ClassCount + _classes.Span[row]] = 1f;
            else
                targets[i] = _classes.Span[row];
        }
    }

    /// <inheritdoc />
    public void GatherSamples(ReadOnlySpan<int> indices, Span<float> samples)
    {
        int perSample = SampleLength;
        if (samples.Length != indices.Length * perSample)
            throw new ArgumentException($"the sample batch holds {samples.Length} floats; {indices.Length} samples need {indices.Length * perSample}", nameof(samples));
        for (int i = 0; i < indices.Length; i++)
        {
            int row = indices[i];
            if ((uint)row >= (uint)Count)
                throw new ArgumentOutOfRangeException(nameof(indices), row, $"index {i} of the batch is outside 0..{Count - 1}");
            _features.Span.Slice(row * perSample, perSample).CopyTo(samples.Slice(i * perSample, perSample));
        }
    }

    private static int[] CheckShape(IReadOnlyList<int> sampleShape)
    {
        ArgumentNullException.ThrowIfNull(sampleShape);
        if (sampleShape.Count == 0 || sampleShape.Any(d => d < 1))
            throw new ArgumentException($"sampleShape ({string.Join(", ", sampleShape)}) needs one or more sizes of at least 1", nameof(sampleShape));
        return sampleShape.ToArray();
    }

    // The number of samples the features make; every feature finite.
    private static int CheckFeatures(ReadOnlyMemory<float> features, int sampleLength)
    {
        if (features.Length == 0)
            throw new ArgumentException("features is empty: a data set needs at least one sample", nameof(features));
        if (features.Length % sampleLength != 0)
        {
            throw new ArgumentException($"features holds {features.Length} floats, not a whole number of samples of {sampleLength}", nameof(features));
        }
        CheckFinite(features.Span, sampleLength, nameof(features));
        return features.Length / sampleLength;
    }

    private static void CheckFinite(ReadOnlySpan<float> values, int rowLength, string name)
    {
        for (int i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
            {
                throw new ArgumentException($"{name}: row {i / rowLength}, column {i % rowLength} is " +
                    $"{values[i].ToString(System.Globalization.CultureInfo.InvariantCulture)}; every value must be a finite number", name);
            }
        }
    }
}
