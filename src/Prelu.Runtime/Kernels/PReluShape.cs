namespace Prelu.Kernels;

/// <summary>How a PReLU layer shares its alphas, for kernels that specialise the common cases.</summary>
public enum PReluSharing
{
    /// <summary>One alpha per element of a sample (Keras's default, <c>shared_axes=None</c>).</summary>
    PerElement,

    /// <summary>One alpha per channel (the last axis): every other axis shared. The paper's preferred form.</summary>
    ChannelWise,

    /// <summary>One alpha for the whole layer: every axis shared.</summary>
    ChannelShared,

    /// <summary>Any other set of shared axes.</summary>
    Other,
}

/// <summary>
/// PReLU over (Batch, features...), with Keras's alpha shape: the feature shape with size 1 on each
/// axis in <see cref="SharedAxes"/> (counted from 1, the first axis after the batch, as Keras counts).
/// After a 26x26x32 map: no shared axes, 21,632 alphas; [1, 2], 32 alphas; [1, 2, 3], one alpha.
/// </summary>
public sealed class PReluShape
{
    /// <summary>PReLU over a batch of <paramref name="batch"/> tensors of <paramref name="featureDims"/>, one alpha shared along each of <paramref name="sharedAxes"/> (1-based, as Keras counts them).</summary>
    public PReluShape(int batch, IReadOnlyList<int> featureDims, IReadOnlyList<int>? sharedAxes = null)
    {
        ShapeChecks.Positive(nameof(PReluShape), (nameof(batch), batch));
        sharedAxes ??= [];
        foreach (var axis in sharedAxes)
        {
            if (axis < 1 || axis > featureDims.Count)
            {
                throw new ArgumentOutOfRangeException(nameof(sharedAxes), axis,
                    $"PReLU: shared axis {axis} is outside 1..{featureDims.Count} for an input of shape (batch, {string.Join(", ", featureDims)})");
            }
        }
        var repeated = sharedAxes.GroupBy(axis => axis).FirstOrDefault(g => g.Count() > 1);
        if (repeated is not null)
            throw new ArgumentException($"PReLU: shared axis {repeated.Key} is listed twice in [{string.Join(", ", sharedAxes)}]", nameof(sharedAxes));
        Batch = batch;
        Groups = new AxisGroups(featureDims, sharedAxes.Select(axis => axis - 1).ToList());
        SharedAxes = Groups.ReducedAxes.Select(axis => axis + 1).ToArray();
        Sharing = SharedAxes.Count == 0 ? PReluSharing.PerElement
            : SharedAxes.Count == featureDims.Count ? PReluSharing.ChannelShared
            : SharedAxes.Count == featureDims.Count - 1 && !SharedAxes.Contains(featureDims.Count) ? PReluSharing.ChannelWise
            : PReluSharing.Other;
    }

    /// <summary>Samples in the batch.</summary>
    public int Batch { get; }

    /// <summary>The shape of one sample.</summary>
    public IReadOnlyList<int> FeatureDims => Groups.Dims;

    /// <summary>Shared axes, 1-based, sorted.</summary>
    public IReadOnlyList<int> SharedAxes { get; }

    /// <summary>The alpha tensor's shape, as Keras reports it.</summary>
    public IReadOnlyList<int> AlphaDims => Groups.GroupDims;

    /// <summary>How the alphas are shared, in the form kernels take.</summary>
    public PReluSharing Sharing { get; }

    /// <summary>Elements per sample.</summary>
    public int FeatureLength => Groups.Length;

    /// <summary>Alphas.</summary>
    public int AlphaLength => Groups.GroupCount;
    /// <summary>Floats in the input, and in the output.</summary>
    public int Length => Batch * FeatureLength;

    /// <summary>Which alpha the feature at flat index <paramref name="featureIndex"/> uses.</summary>
    public int AlphaIndex(int featureIndex) => Groups.GroupOf(featureIndex);

    /// <summary>The alpha of every feature position, by flat index within a sample.</summary>
    public ReadOnlySpan<int> AlphaMap => Groups.GroupMap;

    internal AxisGroups Groups { get; }

    /// <summary>The same sharing for another batch size.</summary>
    public PReluShape WithBatch(int batch) => new(batch, FeatureDims, SharedAxes);
}
