
namespace Prelu.Runtime.Tests.Data;

/// <summary>
/// Auto MPG and Palmer penguins from vega-datasets@3.2.1: fetched (on a new machine) through npm into the per-user cache,
/// read as TensorFlow's tutorials read them, and every damaged file refused naming the file, the row and the field.
/// </summary>
public sealed class VegaDatasetsTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("prelu-vega-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task Auto_mpg_has_the_392_complete_cars_with_the_tutorials_features()
    {
        var cars = await AutoMpg.LoadOrFetchAsync();

        Assert.Equal(392, cars.Count);
        Assert.Equal([9], cars.SampleShape);
        // The first car, a 1970 Chevrolet Chevelle Malibu from the USA: 18 mpg.
        Assert.Equal(new float[] { 8, 307, 130, 3504, 12, 70, 0, 0, 1 }, cars.Features.Span[..9].ToArray());
        Assert.Equal(18f, cars.Targets.Span[0]);
        // Each car is from one place.
        for (int i = 0; i < cars.Count; i++)
            Assert.Equal(1f, cars.Features.Span.Slice(i * 9 + 6, 3).ToArray().Sum());

        var (train, test) = cars.RandomSplit(0.8, seed: 0);
        Assert.Equal((314, 78), (train.Count, test.Count));
        var again = cars.RandomSplit(0.8, seed: 0).Sample;
        Assert.Equal(train.Targets.ToArray(), again.Targets.ToArray());
        Assert.Equal(cars.Targets.ToArray().Order(), train.Targets.ToArray().Concat(test.Targets.ToArray()).Order());
        Assert.NotEqual(train.Targets.ToArray(), cars.RandomSplit(0.8, seed: 1).Sample.Targets.ToArray());
    }

    [Fact]
    public async Task Penguins_has_the_333_complete_penguins_of_three_species()
    {
        var penguins = await Penguins.LoadOrFetchAsync();

        Assert.Equal(333, penguins.Count);
        Assert.Equal(3, penguins.ClassCount);
        Assert.Equal([146, 68, 119], Enumerable.Range(0, 3).Select(c => penguins.Classes.ToArray().Count(k => k == c)));
        // The first, an Adelie male of Torgersen.
        Assert.Equal(new float[] { 39.1f, 18.7f, 181, 3750, 0, 0, 1, 0, 1 }, penguins.Features.Span[..9].ToArray());
        Assert.Equal(0, penguins.Classes.Span[0]);
    }

    public static TheoryData<string, string, string> DamagedCars => new()
    {
        { "not json", "[{\"Miles_per_Gallon\": 18,", ": not JSON (" },
        { "an object", "{\"cars\": []}", ": expected a JSON array of rows, found Object" },
        { "a row of numbers", "[[1, 2]]", ": row 0: expected an object, found Array" },
        { "horsepower as text", Car("\"Horsepower\": \"130\""), ": row 0, field 'Horsepower': expected a number or null, found String 130" },
        { "a year that is not a date", Car("\"Year\": 1970"), ": row 0, field 'Year': expected a date such as \"1970-01-01\", found Number 1970" },
        { "an unknown origin", Car("\"Origin\": \"Mars\""), ": row 0, field 'Origin': expected one of Europe, Japan, USA, found 'Mars'" },
        { "no complete car", Car("\"Horsepower\": null"), ": no car has every field" },
    };

    // One car with every field, one of them replaced.
    private static string Car(string replacement)
    {
        var fields = new Dictionary<string, string>
        {
            ["Miles_per_Gallon"] = "18", ["Cylinders"] = "8", ["Displacement"] = "307", ["Horsepower"] = "130", ["Weight_in_lbs"] = "3504",
            ["Acceleration"] = "12", ["Year"] = "\"1970-01-01\"", ["Origin"] = "\"USA\"",
        };
        var (name, value) = (replacement[1..replacement.IndexOf('"', 1)], replacement[(replacement.IndexOf(':') + 2)..]);
        fields[name] = value;
        return "[{" + string.Join(", ", fields.Select(f => $"\"{f.Key}\": {f.Value}")) + "}]";
    }

    [Theory]
    [MemberData(nameof(DamagedCars))]
    public void A_damaged_table_is_refused_naming_the_file_the_row_and_the_field(string what, string json, string message)
    {
        var path = Path.Combine(_folder, "cars.json");
        File.WriteAllText(path, json);

        var error = Assert.Throws<InvalidDataException>(() => AutoMpg.Read(path));

        Assert.StartsWith(path + message, error.Message, StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(what));
    }

    [Fact]
    public void A_penguin_of_unknown_sex_is_refused_and_one_whose_sex_is_not_known_is_left_out()
    {
        var path = Path.Combine(_folder, "penguins.json");
        const string Row = "{\"Species\": \"Gentoo\", \"Island\": \"Biscoe\", \"Beak Length (mm)\": 46, \"Beak Depth (mm)\": 14, " +
            "\"Flipper Length (mm)\": 210, \"Body Mass (g)\": 4500, \"Sex\": SEX}";
        File.WriteAllText(path, "[" + Row.Replace("SEX", "\"FEMALE\"") + ", " + Row.Replace("SEX", "\".\"") + ", " + Row.Replace("SEX", "null") + "]");
        var penguins = Penguins.Read(path);
        Assert.Equal(1, penguins.Count);
        Assert.Equal(new float[] { 46, 14, 210, 4500, 1, 0, 0, 1, 0 }, penguins.Features.ToArray());
        Assert.Equal(2, penguins.Classes.Span[0]);

        File.WriteAllText(path, "[" + Row.Replace("SEX", "\"M\"") + "]");
        var error = Assert.Throws<InvalidDataException>(() => Penguins.Read(path));
        Assert.Equal($"{path}: row 0, field 'Sex': expected one of FEMALE, MALE, found 'M'", error.Message);
    }

    [Fact]
    public async Task A_file_that_is_not_the_pinned_one_is_refused_and_a_fetch_that_fails_says_how_to_do_it_by_hand()
    {
        var path = Path.Combine(_folder, "cars.json");
        File.WriteAllText(path, "[]");
        var damaged = await Assert.ThrowsAsync<InvalidDataException>(() => VegaDatasets.EnsureAsync(_folder, VegaDatasets.Cars));
        Assert.StartsWith($"{path}: SHA-256 ", damaged.Message, StringComparison.Ordinal);
        Assert.Contains($"expected {VegaDatasets.Cars.Sha256} (vega-datasets@3.2.1's data/cars.json); delete it to fetch it again", damaged.Message, StringComparison.Ordinal);

        File.Delete(path);
        var failed = await Assert.ThrowsAsync<IOException>(() => VegaDatasets.EnsureAsync(_folder, VegaDatasets.Cars, npmCommand: "no-such-npm"));
        Assert.StartsWith($"Could not fetch cars.json into {_folder}: could not run 'no-such-npm'", failed.Message, StringComparison.Ordinal);
        Assert.Contains("run `npm pack vega-datasets@3.2.1`", failed.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(path));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_folder)); // no staging folder left behind
    }
}
