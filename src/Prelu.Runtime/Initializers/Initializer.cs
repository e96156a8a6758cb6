namespace Prelu.Initializers;

/// <summary>
/// Keras's weight initializers, with Keras's names, defaults and formulas. The random ones draw from a
/// <see cref="SeededRandom"/>, so a seed gives the same weights on every run and backend (Keras's own
/// random streams are TensorFlow's and cannot be matched number for number).
/// </summary>
public abstract record Initializer
{
    /// <summary>Fills <paramref name="values"/>, a tensor of shape <paramref name="shape"/>.</summary>
    public abstract void Fill(Span<float> values, IReadOnlyList<int> shape, SeededRandom random);

    /// <summary>
    /// Keras's fan computation: rank 1: (n, n); rank 2 (in, out): (in, out); a convolution kernel
    /// (..., in, out): each times the receptive field, the product of the leading axes.
    /// </summary>
    public static (double FanIn, double FanOut) Fans(IReadOnlyList<int> shape) => shape.Count switch
    {
        0 => (1, 1),
        1 => (shape[0], shape[0]),
        2 => (shape[0], shape[1]),
        _ => (shape[^2] * Receptive(shape), shape[^1] * Receptive(shape)),
    };

    private static double Receptive(IReadOnlyList<int> shape)
    {
        double product = 1;
        for (int i = 0; i < shape.Count - 2; i++)
            product *= shape[i];
        return product;
    }

    protected static void CheckLength(Span<float> values, IReadOnlyList<int> shape)
    {
        long expected = shape.Aggregate(1L, (a, b) => a * b);
        if (values.Length != expected)
            throw new ArgumentException($"the tensor holds {values.Length} values, shape ({string.Join(", ", shape)}) needs {expected}", nameof(values));
    }

    // Keras's truncated normal redraws values beyond two standard deviations.
    internal static double TruncatedGaussian(SeededRandom random)
    {
        while (true)
        {
            double z = random.NextGaussian();
            if (Math.Abs(z) <= 2.0)
                return z;
        }
    }
}

public sealed record Zeros : Initializer
{
    public override void Fill(Span<float> values, IReadOnlyList<int> shape, SeededRandom random)
    {
        CheckLength(values, shape);
        values.Clear();
    }
}

public sealed record Ones : Initializer
{
    public override void Fill(Span<float> values, IReadOnlyList<int> shape, SeededRandom random)
    {
        CheckLength(values, shape);
        values.Fill(1f);
    }
}

public sealed record Constant(float Value) : Initializer
{
    public override void Fill(Span<float> values, IReadOnlyList<int> shape, SeededRandom random)
    {
        CheckLength(values, shape);
        values.Fill(Value);
    }
}

public sealed record RandomUniform(float MinValue = -0.05f, float MaxValue = 0.05f) : Initializer
{
    public override void Fill(Span<float> values, IReadOnlyList<int> shape, SeededRandom random)
    {
        CheckLength(values, shape);
        for (int i = 0; i < values.Length; i++)
            values[i] = (float)(MinValue + (MaxValue - (double)MinValue) * random.NextDouble());
    }
}

public sealed record RandomNormal(float Mean = 0f, float StdDev = 0.05f) : Initializer
{
    public override void Fill(Span<float> values, IReadOnlyList<int> shape, SeededRandom random)
    {
        CheckLength(values, shape);
        for (int i = 0; i < values.Length; i++)
            values[i] = (float)(Mean + StdDev * random.NextGaussian());
    }
}

public sealed record TruncatedNormal(float Mean = 0f, float StdDev = 0.05f) : Initializer
{
    public override void Fill(Span<float> values, IReadOnlyList<int> shape, SeededRandom random)
    {
        CheckLength(values, shape);
        for (int i = 0; i < values.Length; i++)
            values[i] = (float)(Mean + StdDev * TruncatedGaussian(random));
    }
}

/// <summary>How a variance-scaling initializer counts the fans.</summary>
public enum FanMode
{
    FanIn,
    FanOut,
    FanAvg,
}

/// <summary>How a variance-scaling initializer draws.</summary>
public enum Distribution
{
    TruncatedNormal,
    UntruncatedNormal,
    Uniform,
}

/// <summary>
/// Keras's VarianceScaling, behind Glorot, He and LeCun: variance scale / n (n the fan of
/// <see cref="Mode"/>); uniform within ±sqrt(3 scale / n), or a normal truncated at two standard
/// deviations whose standard deviation is sqrt(scale / n) / 0.8796... (so that the truncated draw has
/// the wanted variance).
/// </summary>
public sealed record VarianceScaling(double Scale, FanMode Mode, Distribution Distribution) : Initializer
{
    private const double TruncatedNormalStdDevCorrection = 0.87962566103423978;

    public static VarianceScaling GlorotUniform { get; } = new(1.0, FanMode.FanAvg, Distribution.Uniform);
    public static VarianceScaling GlorotNormal { get; } = new(1.0, FanMode.FanAvg, Distribution.TruncatedNormal);
    public static VarianceScaling HeUniform { get; } = new(2.0, FanMode.FanIn, Distribution.Uniform);
    public static VarianceScaling HeNormal { get; } = new(2.0, FanMode.FanIn, Distribution.TruncatedNormal);
    public static VarianceScaling LecunUniform { get; } = new(1.0, FanMode.FanIn, Distribution.Uniform);
    public static VarianceScaling LecunNormal { get; } = new(1.0, FanMode.FanIn, Distribution.TruncatedNormal);

    public override void Fill(Span<float> values, IReadOnlyList<int> shape, SeededRandom random)
    {
        CheckLength(values, shape);
        var (fanIn, fanOut) = Fans(shape);
        double n = Mode switch
        {
            FanMode.FanIn => fanIn,
            FanMode.FanOut => fanOut,
            _ => (fanIn + fanOut) / 2,
        };
        double variance = Scale / Math.Max(1.0, n);
        switch (Distribution)
        {
            case Distribution.Uniform:
                double limit = Math.Sqrt(3.0 * variance);
                for (int i = 0; i < values.Length; i++)
                    values[i] = (float)(limit * (2.0 * random.NextDouble() - 1.0));
                break;
            case Distribution.TruncatedNormal:
                double truncatedStdDev = Math.Sqrt(variance) / TruncatedNormalStdDevCorrection;
                for (int i = 0; i < values.Length; i++)
                    values[i] = (float)(truncatedStdDev * TruncatedGaussian(random));
                break;
            default:
                double stdDev = Math.Sqrt(variance);
                for (int i = 0; i < values.Length; i++)
                    values[i] = (float)(stdDev * random.NextGaussian());
                break;
        }
    }
}
