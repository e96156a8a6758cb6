using System.Globalization;

namespace Prelu.Mnist.Reporting;

/// <summary>How reports print numbers.</summary>
public static class Numbers
{
    /// <summary>A difference with its sign ("+0.12", "-0.03"), and "0.00" for one that rounds to zero (not "-0.00").</summary>
    public static string Signed(double value, int decimals)
    {
        double rounded = Math.Round(value, decimals);
        string format = "0." + new string('0', decimals);
        return rounded == 0 ? 0.0.ToString(format, CultureInfo.InvariantCulture)
            : rounded.ToString("+" + format + ";-" + format, CultureInfo.InvariantCulture);
    }
}
