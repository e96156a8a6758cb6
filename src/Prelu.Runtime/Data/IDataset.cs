using Prelu.Kernels;

namespace Prelu;

/// <summary>
/// What <see cref="Trainer"/> trains, evaluates and predicts on: <see cref="Count"/> samples of one shape, and
/// their targets, handed out a batch at a time as a model's loss reads them. <see cref="LabeledImages"/> (byte pixels
/// scaled as batches are drawn, a class each) and <see cref="Dataset"/> (float features of any shape, float targets
/// or class indices) are two.
/// </summary>
public interface IDataset
{
    /// <summary>How many samples.</summary>
    int Count { get; }

    /// <summary>The shape of one sample, without the batch axis: (height, width, channels) or (features), for example.</summary>
    IReadOnlyList<int> SampleShape { get; }

    /// <summary>Floats of one sample: the product of <see cref="SampleShape"/>.</summary>
    int SampleLength { get; }

    /// <summary>Why these targets cannot train a model with <paramref name="loss"/> and outputs of <paramref name="outputLength"/> floats, or null when they can.</summary>
    string? TargetMismatch(in LossFunction loss, int outputLength);

    /// <summary>
    /// The samples at <paramref name="indices"/>, (indices.Length, SampleShape) float32, and their targets as
    /// <paramref name="loss"/> reads them (<see cref="LossFunction.TargetLength"/> floats for the batch).
    /// </summary>
    void GatherBatch(ReadOnlySpan<int> indices, Span<float> samples, Span<float> targets, in LossFunction loss, int outputLength);

    /// <summary>The samples at <paramref name="indices"/> alone, (indices.Length, SampleShape) float32: what a model's input is (Normalization's Adapt reads them).</summary>
    void GatherSamples(ReadOnlySpan<int> indices, Span<float> samples);

    /// <summary>Samples <paramref name="start"/> to <paramref name="start"/> + <paramref name="count"/> - 1, without copying.</summary>
    IDataset Slice(int start, int count);
}

/// <summary>Keras's <c>validation_split</c>, written once for every data set.</summary>
public static class ValidationSplit
{
    /// <summary>
    /// Where the validation part begins: the <b>last</b> <paramref name="fraction"/> of the samples, taken before any
    /// shuffling, is held out (Keras: <c>split_at = int(num_samples * (1.0 - validation_split))</c>).
    /// </summary>
    public static int At(int count, double fraction)
    {
        if (!(fraction > 0 && fraction < 1))
            throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "validation_split must be in (0, 1)");
        int splitAt = (int)Math.Floor(count * (1.0 - fraction));
        if (splitAt == 0 || splitAt == count)
        {
            throw new ArgumentOutOfRangeException(nameof(fraction), fraction,
                $"validation_split {fraction} leaves an empty training or validation set of {count} samples");
        }
        return splitAt;
    }

    /// <summary>The first part to train on and the last <paramref name="fraction"/> to validate on.</summary>
    public static (IDataset Train, IDataset Validation) Split(IDataset data, double fraction)
    {
        ArgumentNullException.ThrowIfNull(data);
        int splitAt = At(data.Count, fraction);
        return (data.Slice(0, splitAt), data.Slice(splitAt, data.Count - splitAt));
    }
}
