namespace Prelu.Tests.Shared;

/// <summary>
/// Bad-input assertions that check what the user reads, not only the exception's type: the argument
/// it names and every fragment of the message that says what was wrong and what was expected.
/// </summary>
public static class Refused
{
    /// <summary>Asserts that <paramref name="call"/> throws <typeparamref name="T"/> naming <paramref name="parameter"/> (null: any) with each fragment in its message.</summary>
    public static T Assert<T>(Action call, string? parameter, params string[] fragments)
        where T : Exception => Check(Xunit.Assert.Throws<T>(call), parameter, fragments);

    /// <summary>The same for a call that returns a value (a constructor, say), which then must not be made.</summary>
    public static T Assert<T>(Func<object?> call, string? parameter, params string[] fragments)
        where T : Exception => Check(Xunit.Assert.Throws<T>(call), parameter, fragments);

    private static T Check<T>(T error, string? parameter, string[] fragments)
        where T : Exception
    {
        if (parameter is not null)
            Xunit.Assert.Equal(parameter, Xunit.Assert.IsAssignableFrom<ArgumentException>(error).ParamName);
        foreach (var fragment in fragments)
            Xunit.Assert.Contains(fragment, error.Message, StringComparison.Ordinal);
        return error;
    }
}
