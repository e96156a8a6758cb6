namespace Prelu.Backends;

/// <summary>
/// The plain C# reference kernels in float32, on managed arrays. It is the yardstick every other backend
/// is tested against, the fallback when neither OpenCL nor the C library is there, and the "managed
/// scalar" baseline in benchmarks.
/// </summary>
public sealed class ManagedBackend : ReferenceBackend<float>
{
    /// <inheritdoc />
    public override string Name => "managed";
}

/// <summary>
/// The same reference kernels in float64: a generated model runs its very forward and backward code in
/// double precision, so that finite differences of its loss are exact enough to check every gradient
/// tensor tightly. Uploads and downloads convert from and to float32; <see cref="ReferenceBackend{T}.Values"/>
/// reads and writes the doubles themselves. Not for training: it is twice the memory and no faster.
/// </summary>
public sealed class ManagedFloat64Backend : ReferenceBackend<double>
{
    /// <inheritdoc />
    public override string Name => "managed (float64)";
}
