namespace Prelu;

/// <summary>
/// A data file that is not what it claims to be. The message always names the file, the field
/// that was wrong and what was expected, so that a user can fix the file without a debugger.
/// </summary>
public sealed class IdxFormatException : IOException
{
    /// <summary>A damaged IDX file: <paramref name="field"/> of <paramref name="path"/> is not what <paramref name="problem"/> says it should be.</summary>
    public IdxFormatException(string path, string field, string problem, Exception? inner = null)
        : base($"{path}: {field}: {problem}", inner)
    {
        FilePath = path;
        Field = field;
        Problem = problem;
    }

    /// <summary>The file that was read.</summary>
    public string FilePath { get; }

    /// <summary>The part of the file that was wrong ("magic", "dimension 2", "data", "label 17", ...).</summary>
    public string Field { get; }

    /// <summary>What was wrong and what was expected, without the file name.</summary>
    public string Problem { get; }
}
