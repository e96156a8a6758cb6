namespace Prelu.Kernels;

/// <summary>
/// A block of float32 memory that one backend owns: a managed array, 64-byte-aligned native memory, or
/// an OpenCL buffer. A slice views part of its parent and frees nothing; the generated code slices one
/// planned arena into every activation.
/// </summary>
public abstract class DeviceBuffer : IDisposable
{
    /// <summary>A buffer of <paramref name="length"/> floats that <paramref name="owner"/> allocated.</summary>
    protected DeviceBuffer(Backend owner, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        Owner = owner;
        Length = length;
    }

    /// <summary>The backend that allocated this buffer; only it may use the buffer.</summary>
    public Backend Owner { get; }

    /// <summary>Length in floats.</summary>
    public int Length { get; }

    /// <summary>True once disposed: no backend takes it.</summary>
    public bool IsDisposed { get; private set; }

    /// <summary>A view of <paramref name="length"/> floats from <paramref name="offset"/>.</summary>
    public DeviceBuffer Slice(int offset, int length)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if (offset < 0 || length < 0 || (long)offset + length > Length)
            throw new ArgumentOutOfRangeException(nameof(offset), $"slice [{offset}, {(long)offset + length}) is outside a buffer of {Length} floats");
        return SliceCore(offset, length);
    }

    /// <summary>The view <see cref="Slice"/> returns, its bounds checked.</summary>
    protected abstract DeviceBuffer SliceCore(int offset, int length);

    /// <summary>Frees the memory (a slice frees nothing); the buffer is then refused.</summary>
    public void Dispose()
    {
        if (IsDisposed)
            return;
        IsDisposed = true;
        Free();
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the memory; a slice releases nothing.</summary>
    protected abstract void Free();

    /// <inheritdoc />
    public override string ToString() => $"{Owner.Name} buffer of {Length} floats";
}
