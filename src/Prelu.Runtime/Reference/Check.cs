namespace Prelu.Reference;

/// <summary>Argument checks shared by every kernel: a wrong length is a clear exception, never a wrong answer.</summary>
internal static class Check
{
    public static void Lengths(string operation, params ReadOnlySpan<(string Name, int Actual, int Expected)> buffers)
    {
        foreach (var (name, actual, expected) in buffers)
        {
            if (actual != expected)
                throw new ArgumentException($"{operation}: {name} holds {actual} elements, the shape needs {expected}", name);
        }
    }

    /// <summary>An optional buffer (bias, a gradient not wanted) is either empty or of the full length.</summary>
    public static void OptionalLength(string operation, string name, int actual, int expected)
    {
        if (actual != 0 && actual != expected)
            throw new ArgumentException($"{operation}: {name} holds {actual} elements, the shape needs {expected} (or none)", name);
    }

    public static void Positive(string operation, string name, int value)
    {
        if (value <= 0)
            throw new ArgumentOutOfRangeException(name, value, $"{operation}: {name} must be at least 1, got {value}");
    }
}
