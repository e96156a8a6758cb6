namespace Prelu;

/// <summary>Where data sets live when the user does not say.</summary>
public static class DataFolders
{
    /// <summary>Overrides the MNIST folder; a command-line option overrides this in turn.</summary>
    public const string MnistEnvironmentVariable = "PRELU_MNIST_DIR";

    /// <summary>
    /// The MNIST folder: <c>$PRELU_MNIST_DIR</c> when set, else a per-user cache folder
    /// (<c>$XDG_CACHE_HOME/prelu/mnist</c>, <c>~/.cache/prelu/mnist</c>, or the local application data
    /// folder on Windows).
    /// </summary>
    public static string DefaultMnistFolder()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable(MnistEnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
            return Path.GetFullPath(fromEnvironment);
        return Path.Combine(UserCacheFolder(), "prelu", "mnist");
    }

    /// <summary>The per-user cache folder Prelu keeps its caches under: <c>$XDG_CACHE_HOME</c>, <c>~/.cache</c>, or the local application data folder on Windows.</summary>
    public static string UserCacheFolder()
    {
        if (OperatingSystem.IsWindows())
            return Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData);
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (!string.IsNullOrWhiteSpace(xdg) && Path.IsPathRooted(xdg))
            return xdg;
        return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
    }
}
