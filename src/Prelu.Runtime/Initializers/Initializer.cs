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

    /// <summary>Refuses <paramref name="values"/> unless it holds exactly the elements of <paramref name="shape"/>.</summary>
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

/// <summary>Keras's "zeros".</summary>
public sealed record Zeros : Initializer
{
    /// <inheritdoc />
    public override void Fill(Span<float> values, IReadOnlyList<int> shape, SeededRandom random)
    {
        CheckLength(values, shape);
        values.Clear();
    }
}

/// <summary>Keras's "ones".</summary>
public sealed record Ones : Initializer
{
    /// <inheritdoc />
    public override void Fill(Span<float> values, IReadOnlyList<int> shape, SeededRandom random)
    {
        CheckLength(values, shape);
        values.Fill(1f);
    }
}

/// <summary>Keras's "constant(value)": every element <paramref name="Value"/>.</summary>
/// <param name="Value">The value of every element.</param>
public sealed record Constant(float Value) : Initializer
{
    /// <inheritdoc />
    public override void Fill(Span<float> values, IReadOnlyList<int> shape, SeededRandom random)
    {
        CheckLength(values, shape);
        values.Fill(Value);
    }
}

/// <summary>Keras's "random_uniform(minval, maxval)": uniform in [<paramref name="MinValue"/>, <paramref name="MaxValue"/>).</summary>
/// <param name="MinValue">The lower bound (Keras's default -0.05).</param>
/// <param name="MaxValue">The upper bound (Keras's default 0.05).</param>
public sealed record RandomUniform(float MinValue = -0.05f, float MaxValue = 0.05f) : Initializer
{
    /// <inheritdoc />
    public override void Fill(Span<float> values, IReadOnlyList<int> shape, SeededRandom random)
    {
        CheckLength(values, shape);
        for (int i = 0; i < values.Length; i++)
            values[i] = (float)(MinValue + (MaxValue - (double)MinValue) * random.NextDouble());
    }
}

/// <summary>Keras's "random_normal(mean, stddev)": a normal distribution.</summary>
/// <param name="Mean">The mean (Keras's default 0).</param>
/// <param name="StdDev">The standard deviation (Keras's default 0.05).</param>
public sealed record RandomNormal(float Mean = 0f, float StdDev = 0.05f) : Initializer
{
    /// <inheritdoc />
    public override void Fill(Span<float> values, IReadOnlyList<int> shape, SeededRandom random)
    {
        CheckLength(values, shape);
        for (int i = 0; i < values.Length; i++)
            values[i] = (float)(Mean + StdDev * random.NextGaussian());
    }
}

/// <summary>Keras's "truncated_normal(mean, stddev)": a normal distribution, draws beyond two standard deviations drawn again.</summary>
/// <param name="Mean">The mean (Keras's default 0).</param>
/// <param name="StdDev">The standard deviation before truncation (Keras's default 0.05).</param>
public sealed record TruncatedNormal(float Mean = 0f, float StdDev = 0.05f) : Initializer
{
    /// <inheritdoc />
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
    /// <summary>The inputs a unit sees (Keras's "fan_in").</summary>
    FanIn,
    /// <summary>The outputs a unit feeds (Keras's "fan_out").</summary>
    FanOut,
    /// <summary>Their mean (Keras's "fan_avg").</summary>
    FanAvg,
}

/// <summary>How a variance-scaling initializer draws.</summary>
public enum Distribution
{
    /// <summary>A normal truncated at two standard deviations, rescaled to the wanted variance (Keras's "truncated_normal").</summary>
    TruncatedNormal,
    /// <summary>A normal (Keras's "untruncated_normal").</summary>
    UntruncatedNormal,
    /// <summary>Uniform within ±sqrt(3 scale / n) (Keras's "uniform").</summary>
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

    /// <summary>Keras's "glorot_uniform" (the default kernel initializer).</summary>
    public static VarianceScaling GlorotUniform { get; } = new(1.0, FanMode.FanAvg, Distribution.Uniform);
    /// <summary>Keras's "glorot_normal".</summary>
    public static VarianceScaling GlorotNormal { get; } = new(1.0, FanMode.FanAvg, Distribution.TruncatedNormal);
    /// <summary>Keras's "he_uniform".</summary>
    public static VarianceScaling HeUniform { get; } = new(2.0, FanMode.FanIn, Distribution.Uniform);
    /// <summary>Keras's "he_normal" (He et al.'s, from the PReLU paper).</summary>
    public static VarianceScaling HeNormal { get; } = new(2.0, FanMode.FanIn, Distribution.TruncatedNormal);
    /// <summary>Keras's "lecun_uniform".</summary>
    public static VarianceScaling LecunUniform { get; } = new(1.0, FanMode.FanIn, Distribution.Uniform);
    /// <summary>Keras's "lecun_normal".</summary>
    public static VarianceScaling LecunNormal { get; } = new(1.0, FanMode.FanIn, Distribution.TruncatedNormal);

    /// <inheritdoc />
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
