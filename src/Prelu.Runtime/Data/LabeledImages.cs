using System.Runtime.Intrinsics;
using Prelu.Kernels;

namespace Prelu;

/// <summary>
/// Images with their class labels. The pixels stay bytes in memory (a quarter of the float32 size,
/// and no 200 MB of fresh pages to fault in at load time); every read hands them out prepared as Keras
/// prepares them: float32 in [0, 1] (<c>x.astype('float32') / 255</c>, to the bit), NHWC, and
/// one-hot labels. Slices share memory with the set they were cut from.
/// </summary>
public sealed class LabeledImages : IDataset
{
    /// <summary>Images of <paramref name="height"/> x <paramref name="width"/> x <paramref name="channels"/> bytes each, one after another, and a class (below <paramref name="classCount"/>) per image; checked, not copied.</summary>
    public LabeledImages(ReadOnlyMemory<byte> pixels, ReadOnlyMemory<byte> labels, int height, int width, int channels, int classCount)
        : this(pixels, labels, height, width, channels, classCount, checkLabels: true)
    {
    }

    // A slice of a set already checked, or a set whose loader checked the labels with the file's name in
    // the message, needs no second pass over its labels.
    internal LabeledImages(ReadOnlyMemory<byte> pixels, ReadOnlyMemory<byte> labels, int height, int width, int channels, int classCount, bool checkLabels)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(classCount, 2);
        if (pixels.Length != (long)labels.Length * height * width * channels)
        {
            throw new ArgumentException(
                $"{pixels.Length} pixels do not make {labels.Length} images of {height}x{width}x{channels}", nameof(pixels));
        }
        if (checkLabels)
        {
            foreach (var label in labels.Span)
            {
                if (label >= classCount)
                    throw new ArgumentException($"label {label} is not a class of {classCount}", nameof(labels));
            }
        }
        RawPixels = pixels;
        Labels = labels;
        Height = height;
        Width = width;
        Channels = channels;
        ClassCount = classCount;
    }

    /// <summary>Pixels as stored, 0 to 255, (Count, Height, Width, Channels).</summary>
    public ReadOnlyMemory<byte> RawPixels { get; }

    /// <summary>Class of each image, (Count).</summary>
    public ReadOnlyMemory<byte> Labels { get; }

    /// <summary>Images.</summary>
    public int Count => Labels.Length;
    /// <summary>An image's height.</summary>
    public int Height { get; }
    /// <summary>An image's width.</summary>
    public int Width { get; }
    /// <summary>An image's channels.</summary>
    public int Channels { get; }
    /// <summary>Classes; labels are below it.</summary>
    public int ClassCount { get; }
    /// <summary>Bytes (and so floats in a batch) per image.</summary>
    public int PixelsPerImage => Height * Width * Channels;

    /// <summary>The shape of the images, NHWC.</summary>
    public IReadOnlyList<int> Shape => [Count, Height, Width, Channels];

    /// <summary>Every image as float32 in [0, 1], (Count, Height, Width, Channels).</summary>
    public float[] PixelsAsFloat32()
    {
        var pixels = GC.AllocateUninitializedArray<float>(RawPixels.Length);
        ScaleToUnitInterval(RawPixels.Span, pixels);
        return pixels;
    }

    /// <summary>Every label one-hot, (Count, ClassCount), as Keras's <c>to_categorical</c> makes them.</summary>
    public float[] OneHotLabels()
    {
        var oneHot = new float[Count * ClassCount];
        var labels = Labels.Span;
        for (int i = 0; i < labels.Length; i++)
            oneHot[i * ClassCount + labels[i]] = 1f;
        return oneHot;
    }

    /// <summary>
    /// Gathers the images at <paramref name="indices"/> into a batch: <paramref name="pixels"/> is
    /// (indices.Length, Height, Width, Channels) float32 in [0, 1], <paramref name="targets"/> is
    /// (indices.Length, ClassCount) one-hot, or with <paramref name="classIndices"/> each image's class as a float
    /// (sparse categorical cross-entropy's targets). This is how a training loop draws a shuffled batch.
    /// </summary>
    public void GatherBatch(ReadOnlySpan<int> indices, Span<float> pixels, Span<float> targets, bool classIndices = false)
    {
        int perImage = PixelsPerImage;
        if (pixels.Length != indices.Length * perImage)
            throw new ArgumentException($"the pixel batch holds {pixels.Length} floats; {indices.Length} images need {indices.Length * perImage}", nameof(pixels));
        int perLabel = classIndices ? 1 : ClassCount;
        if (targets.Length != indices.Length * perLabel)
        {
            throw new ArgumentException($"the label batch holds {targets.Length} floats; {indices.Length} labels need {indices.Length * perLabel}" +
                (classIndices ? " (a class index each)" : " (one-hot)"), nameof(targets));
        }
        var raw = RawPixels.Span;
        var labels = Labels.Span;
        targets.Clear();
        for (int i = 0; i < indices.Length; i++)
        {
            int image = indices[i];
            if ((uint)image >= (uint)Count)
                throw new ArgumentOutOfRangeException(nameof(indices), image, $"index {i} of the batch is outside 0..{Count - 1}");
            ScaleToUnitInterval(raw.Slice(image * perImage, perImage), pixels.Slice(i * perImage, perImage));
            if (classIndices)
                targets[i] = labels[image];
            else
                targets[i * ClassCount + labels[image]] = 1f;
        }
    }

    /// <summary>How many images each class has.</summary>
    public int[] CountPerClass()
    {
        var counts = new int[ClassCount];
        foreach (var label in Labels.Span)
            counts[label]++;
        return counts;
    }

    /// <summary>Images <paramref name="start"/> to <paramref name="start"/> + <paramref name="count"/> - 1, without copying.</summary>
    public LabeledImages Slice(int start, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(start + count, Count);
        return new LabeledImages(
            RawPixels.Slice(start * PixelsPerImage, count * PixelsPerImage), Labels.Slice(start, count),
            Height, Width, Channels, ClassCount, checkLabels: false);
    }

    /// <summary>
    /// Keras's <c>validation_split</c>: the <b>last</b> <paramref name="fraction"/> of the images, taken
    /// before any shuffling, becomes the validation set; the first part is trained on.
    /// </summary>
    public (LabeledImages Train, LabeledImages Validation) SplitValidation(double fraction)
    {
        int splitAt = ValidationSplit.At(Count, fraction);
        return (Slice(0, splitAt), Slice(splitAt, Count - splitAt));
    }

    IReadOnlyList<int> IDataset.SampleShape => [Height, Width, Channels];

    int IDataset.SampleLength => PixelsPerImage;

    /// <summary>A class per image feeds the categorical cross-entropies (one-hot rows or class indices) of a softmax over the classes.</summary>
    public string? TargetMismatch(in LossFunction loss, int outputLength) =>
        loss.Kind is not (LossKind.CategoricalCrossentropy or LossKind.SparseCategoricalCrossentropy)
            ? $"labeled images (a class per image) train a model whose loss is categorical_crossentropy or sparse_categorical_crossentropy, not {loss.KerasName}"
            : ClassCount != outputLength
                ? $"the images have {ClassCount} classes; the model predicts {outputLength}"
                : null;

    void IDataset.GatherBatch(ReadOnlySpan<int> indices, Span<float> samples, Span<float> targets, in LossFunction loss, int outputLength) =>
        GatherBatch(indices, samples, targets, classIndices: loss.SparseTargets);

    void IDataset.GatherSamples(ReadOnlySpan<int> indices, Span<float> samples)
    {
        int perImage = PixelsPerImage;
        if (samples.Length != indices.Length * perImage)
            throw new ArgumentException($"the pixel batch holds {samples.Length} floats; {indices.Length} images need {indices.Length * perImage}", nameof(samples));
        for (int i = 0; i < indices.Length; i++)
        {
            int image = indices[i];
            if ((uint)image >= (uint)Count)
                throw new ArgumentOutOfRangeException(nameof(indices), image, $"index {i} of the batch is outside 0..{Count - 1}");
            ScaleToUnitInterval(RawPixels.Span.Slice(image * perImage, perImage), samples.Slice(i * perImage, perImage));
        }
    }

    IDataset IDataset.Slice(int start, int count) => Slice(start, count);

    /// <summary>
    /// pixel / 255 in float32: a division, not a multiplication by 1/255, so that every value is the one
    /// Keras's <c>astype('float32') / 255</c> gives. Both steps are exact per lane in SIMD as in scalar.
    /// </summary>
    internal static void ScaleToUnitInterval(ReadOnlySpan<byte> source, Span<float> destination)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var divisor = Vector256.Create(255f);
            for (; i + Vector256<byte>.Count <= source.Length; i += Vector256<byte>.Count)
            {
                var (low, high) = Vector256.Widen(Vector256.Create(source.Slice(i, Vector256<byte>.Count)));
                var (a, b) = Vector256.Widen(low);
                var (c, d) = Vector256.Widen(high);
                (Vector256.ConvertToSingle(a) / divisor).CopyTo(destination.Slice(i));
                (Vector256.ConvertToSingle(b) / divisor).CopyTo(destination.Slice(i + 8));
                (Vector256.ConvertToSingle(c) / divisor).CopyTo(destination.Slice(i + 16));
                (Vector256.ConvertToSingle(d) / divisor).CopyTo(destination.Slice(i + 24));
            }
        }
        for (; i < source.Length; i++)
            destination[i] = source[i] / 255f;
    }
}
