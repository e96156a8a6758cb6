namespace Prelu;

/// <summary>
/// How the arenas of a model are laid out: every tensor starts on a multiple of <see cref="Alignment"/>
/// floats (64 bytes, a cache line and the widest SIMD load). The source generator compiles this file too,
/// and plans every offset with it.
/// </summary>
internal static class Arena
{
    public const int Alignment = 16;

    /// <summary><paramref name="length"/> rounded up to <see cref="Alignment"/>.</summary>
    public static long Aligned(long length) => (length + Alignment - 1) / Alignment * Alignment;
}
