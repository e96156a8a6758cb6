using Prelu.Kernels;

namespace Prelu.Tests.Shared;

/// <summary>
/// What a backend still hands to the managed reference on the host instead of running its own kernels,
/// as its test suites declare it. Every case of the shared suites checks the declaration against the
/// backend's own count (<see cref="Backend.HostFallbacks"/>) both ways: a case claimed for the backend's
/// kernels must not reach the host, and a declared fallback that no longer happens must be taken off.
/// </summary>
public sealed record HostFallbackDeclaration(bool OtherPReluSharing = false, bool Regularizers = false, bool Constraints = false)
{
    /// <summary>A backend that runs every operation itself.</summary>
    public static readonly HostFallbackDeclaration None = new();

    /// <summary>Whether a layer with <paramref name="activation"/> runs on the host.</summary>
    public bool Covers(FusedActivation activation) => OtherPReluSharing && activation.PRelu?.Sharing == PReluSharing.Other;

    /// <summary>Fails unless <paramref name="backend"/> went to the host since <paramref name="before"/> exactly when declared.</summary>
    public static void Check(Backend backend, long before, bool declared, string what)
    {
        long fallbacks = backend.HostFallbacks - before;
        if (declared)
            Assert.True(fallbacks > 0, $"{what}: declared a host fallback of {backend.Name}, but its own kernels ran it; take it off the declaration");
        else
            Assert.True(fallbacks == 0, $"{what}: {backend.Name} handed {fallbacks} operation(s) to the host reference in a case claimed for its own kernels");
    }
}
