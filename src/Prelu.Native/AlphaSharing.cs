using Prelu.Kernels;

namespace Prelu.Native;

/// <summary>
/// PReLU's alpha sharing as the C library (prelu.h's prelu_alpha_sharing) and the OpenCL kernels (common.cl)
/// number it: one place for the mapping both backends pass.
/// </summary>
internal static class AlphaSharing
{
    public const int PerElement = 0;
    public const int ChannelWise = 1;
    public const int Shared = 2;

    /// <summary>Any other shared axes: the kernels read each feature's alpha from an index table.</summary>
    public const int Mapped = 3;

    public static int Code(PReluSharing sharing) => sharing switch
    {
        PReluSharing.PerElement => PerElement,
        PReluSharing.ChannelWise => ChannelWise,
        PReluSharing.ChannelShared => Shared,
        _ => Mapped,
    };
}
