using Microsoft.CodeAnalysis;
using Prelu.Backends;
using Prelu.Tests.Shared;

namespace Prelu.Generators.Tests;

/// <summary>
/// Each mistake in wiring a graph (Keras's functional API by name): a faulty model, its diagnostic's ID, the attribute
/// line it points at, and what it names. None of them reaches run time.
/// </summary>
public sealed class WiringDiagnosticTests
{
    private const string Usings = "using Prelu;\n";

    private static Diagnostic Single(string source, string id)
    {
        var (diagnostics, sources, _) = GeneratorDriverHarness.Run(Usings + source);
        var matching = diagnostics.Where(d => d.Id == id).ToList();
        Assert.True(matching.Count == 1, $"expected one {id}, got: {string.Join("; ", diagnostics.Select(d => $"{d.Id} {d.GetMessage()}"))}");
        Assert.Equal(DiagnosticSeverity.Error, matching[0].Severity);
        Assert.Empty(sources); // a model with a wiring mistake generates nothing
        return matching[0];
    }

    /// <summary>The 1-based line of the diagnostic in the source as written (after the using line).</summary>
    private static int Line(Diagnostic diagnostic) => diagnostic.Location.GetLineSpan().StartLinePosition.Line;

    [Fact]
    public void PRELU019_a_layer_reads_a_name_no_layer_has()
    {
        var d = Single("""
            [InputShape(4)]
            [Dense(8, Name = "hidden")]
            [Dense(8, Input = "hiden", Name = "second")]
            [Dense(2, Activation = "softmax")]
            public partial class Net;
            """, "PRELU019");
        Assert.Equal(3, Line(d));
        Assert.Equal("Layer 'second' reads 'hiden', which is no layer of the model; it can read 'input', 'hidden'", d.GetMessage());
    }

    [Fact]
    public void PRELU019_a_merge_names_an_unknown_layer()
    {
        var d = Single("""
            [InputShape(4)]
            [Dense(4, Name = "a")]
            [Add("a", "b", Name = "sum")]
            [Dense(2, Activation = "softmax")]
            public partial class Net;
            """, "PRELU019");
        Assert.Equal(3, Line(d));
        Assert.Contains("Layer 'sum' reads 'b', which is no layer of the model", d.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void PRELU020_a_layer_reads_a_layer_declared_below_it()
    {
        var d = Single("""
            [InputShape(4)]
            [Dense(4, Input = "later", Name = "early")]
            [Dense(4, Name = "later")]
            [Dense(2, Activation = "softmax")]
            public partial class Net;
            """, "PRELU020");
        Assert.Equal(2, Line(d));
        Assert.Equal("Layer 'early' reads 'later', which is declared below it (layer 2; this is layer 1); a layer reads the model's input or layers declared above it",
            d.GetMessage());
    }

    [Fact]
    public void PRELU020_a_layer_reads_itself()
    {
        var d = Single("""
            [InputShape(4)]
            [Dense(4, Name = "loop")]
            [Add("loop", "next", Name = "next")]
            [Dense(2, Activation = "softmax")]
            public partial class Net;
            """, "PRELU020");
        Assert.Equal(3, Line(d));
        Assert.Contains("Layer 'next' reads 'next', which is the layer itself", d.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void PRELU008_two_layers_share_a_name_and_a_layer_cannot_be_named_input()
    {
        var d = Single("""
            [InputShape(4)]
            [Dense(4, Name = "a")]
            [Dense(4, Name = "a")]
            [Dense(2, Activation = "softmax")]
            public partial class Net;
            """, "PRELU008");
        Assert.Equal(3, Line(d));
        Assert.Contains("'a' is used by layer 1 and again by layer 2", d.GetMessage(), StringComparison.Ordinal);

        var input = Single("""
            [InputShape(4)]
            [Dense(4, Name = "input")]
            [Dense(2, Activation = "softmax")]
            public partial class Net;
            """, "PRELU012");
        Assert.Equal(2, Line(input));
        Assert.Contains("the name 'input' stands for the model's input", input.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void PRELU021_merged_shapes_differ()
    {
        var d = Single("""
            [InputShape(8, 8, 3)]
            [Conv2D(16, 3, Name = "a")]
            [Conv2D(32, 3, Input = "input", Name = "b")]
            [Add("a", "b", Name = "sum")]
            [Flatten]
            [Dense(2, Activation = "softmax")]
            public partial class Net;
            """, "PRELU021");
        Assert.Equal(4, Line(d));
        Assert.Equal("Layer 'sum' (Add) needs inputs of one shape; 'a' is (batch, 6, 6, 16) but 'b' is (batch, 6, 6, 32)", d.GetMessage());
    }

    [Fact]
    public void PRELU021_concatenated_shapes_differ_off_the_axis()
    {
        var d = Single("""
            [InputShape(8, 8, 3)]
            [Conv2D(16, 3, Name = "a")]
            [Conv2D(4, 1, Input = "input", Name = "b")]
            [Concatenate("a", "b", Name = "joined")]
            [Flatten]
            [Dense(2, Activation = "softmax")]
            public partial class Net;
            """, "PRELU021");
        Assert.Equal(4, Line(d));
        Assert.Equal("Layer 'joined' (Concatenate) needs inputs whose sizes agree on every axis but axis -1; 'a' is (batch, 6, 6, 16) but 'b' is (batch, 8, 8, 4)",
            d.GetMessage());
    }

    [Fact]
    public void PRELU012_a_merge_of_one_layer_and_a_concatenation_along_no_axis()
    {
        var one = Single("""
            [InputShape(4)]
            [Dense(4, Name = "a")]
            [Maximum("a", Name = "alone")]
            [Dense(2, Activation = "softmax")]
            public partial class Net;
            """, "PRELU012");
        Assert.Equal(3, Line(one));
        Assert.Equal("Layer 'alone': Maximum needs at least two layers to merge, named in order; it names 1", one.GetMessage());

        var axis = Single("""
            [InputShape(4)]
            [Dense(4, Name = "a")]
            [Dense(4, Input = "input", Name = "b")]
            [Concatenate("a", "b", Axis = 2, Name = "joined")]
            [Dense(2, Activation = "softmax")]
            public partial class Net;
            """, "PRELU012");
        Assert.Equal(4, Line(axis));
        Assert.Contains("axis 2 is not an axis of its inputs of shape (batch, 4)", axis.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void PRELU022_a_branch_that_leads_nowhere()
    {
        var d = Single("""
            [InputShape(4)]
            [Dense(4, Name = "used")]
            [Dense(4, Input = "input", Name = "unused")]
            [Dense(2, Input = "used", Activation = "softmax", Name = "out")]
            public partial class Net;
            """, "PRELU022");
        Assert.Equal(3, Line(d));
        Assert.Equal("Layer 'unused' does not lead to the model's output: no layer reads it; the output is the last layer, 'out', and every other layer must feed it",
            d.GetMessage());
    }

    [Fact]
    public void PRELU022_every_layer_of_a_dead_branch()
    {
        var (diagnostics, _, _) = GeneratorDriverHarness.Run(Usings + """
            [InputShape(4)]
            [Dense(4, Name = "used")]
            [Dense(4, Input = "input", Name = "dead")]
            [ReLU(Name = "dead_too")]
            [Dense(2, Input = "used", Activation = "softmax", Name = "out")]
            public partial class Net;
            """);
        var dead = diagnostics.Where(d => d.Id == "PRELU022").ToList();
        Assert.Equal(2, dead.Count);
        Assert.Contains("Layer 'dead' does not lead to the model's output: it is read only by 'dead_too', which lead nowhere either", dead[0].GetMessage(),
            StringComparison.Ordinal);
        Assert.Contains("Layer 'dead_too' does not lead", dead[1].GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_sequential_model_with_explicit_inputs_generates_the_same_code_as_without()
    {
        var implicitWiring = GeneratorDriverHarness.Run(Usings + """
            [InputShape(8, 8, 1)]
            [Conv2D(4, 3)]
            [PReLU]
            [MaxPooling2D(2)]
            [Flatten]
            [Dense(2, Activation = "softmax")]
            public partial class Net;
            """).Sources.Single();
        var explicitWiring = GeneratorDriverHarness.Run(Usings + """
            [InputShape(8, 8, 1)]
            [Conv2D(4, 3, Input = "input")]
            [PReLU(Input = "conv2d")]
            [MaxPooling2D(2, Input = "p_re_lu")]
            [Flatten(Input = "max_pooling2d")]
            [Dense(2, Activation = "softmax", Input = "flatten")]
            public partial class Net;
            """).Sources.Single();
        Assert.Equal(implicitWiring, explicitWiring); // the same names, tensors, calls and checkpoint names
    }

    [Fact]
    public void A_graphs_summary_says_what_each_layer_reads_as_kerass_functional_models_do()
    {
        using var backend = new ManagedBackend();
        using var graph = new ResidualGraphNet(backend, 1);
        var summary = graph.Summary();
        Assert.Contains(" Layer (type)                Output Shape              Param #     Connected to\n", summary, StringComparison.Ordinal);
        Assert.Contains(" input (InputLayer)          (None, 6, 6, 2)           0\n", summary, StringComparison.Ordinal);
        Assert.Contains(" identity (Add)              (None, 6, 6, 4)           0           act_a, stem\n", summary, StringComparison.Ordinal);
        Assert.Contains(" joined (Concatenate)        (None, 6, 6, 10)          0           projected, stem\n", summary, StringComparison.Ordinal);
        Assert.Contains(" dense_b (Dense)             (None, 5)                 455         flat\n", summary, StringComparison.Ordinal);

        using var stack = new StudyModel(backend, 1); // a plain stack: Keras's Sequential table, as before
        Assert.DoesNotContain("Connected to", stack.Summary(), StringComparison.Ordinal);
    }
}
