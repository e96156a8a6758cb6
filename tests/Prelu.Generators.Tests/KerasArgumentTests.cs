using Prelu.Generators.Model;

namespace Prelu.Generators.Tests;

/// <summary>
/// The Keras-style strings of initializers, regularizers and constraints ("constant(0.25)",
/// "l1_l2(l2=0.3)", "max_norm(3, axis=[0, 1, 2])"): Keras's defaults, positional and named arguments,
/// negative axes, and what the user reads when a string is wrong. Each string is read into its typed spec
/// and printed as the generated code builds it.
/// </summary>
public sealed class KerasArgumentTests
{
    private const string Init = "new global::Prelu.Initializers.";
    private const string Reg = "new global::Prelu.Kernels.Regularizer";
    private const string Cons = "global::Prelu.Kernels.Constraint.";

    [Theory]
    [InlineData("zeros", Init + "Zeros()")]
    [InlineData("ones", Init + "Ones()")]
    [InlineData("constant", Init + "Constant(0f)")]
    [InlineData("constant(0.25)", Init + "Constant(0.25f)")]
    [InlineData(" constant(value=-1) ", Init + "Constant(-1f)")]
    [InlineData("constant(0.5, )", Init + "Constant(0.5f)")]
    [InlineData("he_normal", "global::Prelu.Initializers.VarianceScaling.HeNormal")]
    [InlineData("lecun_uniform", "global::Prelu.Initializers.VarianceScaling.LecunUniform")]
    [InlineData("random_uniform", Init + "RandomUniform(-0.05f, 0.05f)")]
    [InlineData("random_uniform(0, maxval=0.5)", Init + "RandomUniform(0f, 0.5f)")]
    [InlineData("random_uniform(maxval=2)", Init + "RandomUniform(-0.05f, 2f)")]
    [InlineData("random_normal(0.1, 0.2)", Init + "RandomNormal(0.1f, 0.2f)")]
    [InlineData("random_normal(stddev=1)", Init + "RandomNormal(0f, 1f)")]
    [InlineData("truncated_normal", Init + "TruncatedNormal(0f, 0.05f)")]
    [InlineData("truncated_normal(mean=1, stddev=0.5)", Init + "TruncatedNormal(1f, 0.5f)")]
    public void Initializers_take_kerass_arguments_and_defaults(string text, string code)
    {
        var spec = KerasObjects.Initializer(text, out var error);
        Assert.Null(error);
        Assert.Equal(code, ModelGenerator.InitializerCode(spec!));
    }

    [Theory]
    [InlineData("glorot uniform", "expected a name such as glorot_uniform")]
    [InlineData("(0.5)", "expected a name such as glorot_uniform")]
    [InlineData("constant(0.5", "the arguments are not closed with ')'")]
    [InlineData("constant(x)", "cannot read the argument 'x'")]
    [InlineData("constant(value=[1, x])", "cannot read the argument 'value=[1, x]'")]
    [InlineData("random_uniform(minval=0, 1)", "a positional argument follows a named one")]
    [InlineData("zeros(1)", "zeros takes at most 0 argument(s) (), got 1")]
    [InlineData("random_uniform(0, 1, 2)", "random_uniform takes at most 2 argument(s) (minval, maxval), got 3")]
    [InlineData("ones(value=1)", "ones has no argument 'value'")]
    [InlineData("constant(scale=1)", "constant has no argument 'scale' (it takes value)")]
    [InlineData("constant([1, 2])", "constant argument 'value' must be a number")]
    [InlineData("orthogonal", "unknown name")]
    public void A_wrong_initializer_string_says_what_is_wrong(string text, string message)
    {
        Assert.Null(KerasObjects.Initializer(text, out var error));
        Assert.Equal(message, error);
    }

    [Theory]
    [InlineData("l1", Reg + "(0.01f, 0f)")]
    [InlineData("l1(0.5)", Reg + "(0.5f, 0f)")]
    [InlineData("l2", Reg + "(0f, 0.01f)")]
    [InlineData("l2(l2=0.2)", Reg + "(0f, 0.2f)")]
    [InlineData("l1_l2", Reg + "(0.01f, 0.01f)")]
    [InlineData("l1_l2(0.1, 0.2)", Reg + "(0.1f, 0.2f)")]
    [InlineData("l1_l2(l2=0.3)", Reg + "(0.01f, 0.3f)")]
    [InlineData("l1_l2(0, 0)", Reg + "(0f, 0f)")]
    public void Regularizers_take_kerass_arguments_and_defaults(string text, string code)
    {
        var spec = KerasObjects.Regularizer(text, out var error);
        Assert.Null(error);
        Assert.Equal(code, ModelGenerator.RegularizerCode(spec!));
    }

    [Theory]
    [InlineData("l2(-0.1)", "l2 factor -0.1 must not be negative")]
    [InlineData("l1(l2=1)", "l1 has no argument 'l2' (it takes l1)")]
    [InlineData("l1_l2(1, 2, 3)", "l1_l2 takes at most 2 argument(s) (l1, l2), got 3")]
    [InlineData("l2(1, 2)", "l2 takes at most 1 argument(s) (l2), got 2")]
    [InlineData("dropout", "unknown regularizer")]
    public void A_wrong_regularizer_string_says_what_is_wrong(string text, string message)
    {
        Assert.Null(KerasObjects.Regularizer(text, out var error));
        Assert.Equal(message, error);
    }

    [Theory]
    [InlineData("non_neg", Cons + "NonNeg")]
    [InlineData("max_norm", Cons + "MaxNorm(2f, 0)")]
    [InlineData("max_norm(3, axis=[0, 1, 2])", Cons + "MaxNorm(3f, 0, 1, 2)")]
    [InlineData("max_norm(1.5, axis=-1)", Cons + "MaxNorm(1.5f, 3)")]
    [InlineData("max_norm(axis=[-1, 0])", Cons + "MaxNorm(2f, 3, 0)")]
    [InlineData("max_norm(max_value=4, axis=2)", Cons + "MaxNorm(4f, 2)")]
    [InlineData("min_max_norm", Cons + "MinMaxNorm(0f, 1f, 1f, 0)")]
    [InlineData("min_max_norm(0.1, 0.9, 0.5, axis=[0, 1, 2])", Cons + "MinMaxNorm(0.1f, 0.9f, 0.5f, 0, 1, 2)")]
    [InlineData("min_max_norm(rate=0.5, max_value=3)", Cons + "MinMaxNorm(0f, 3f, 0.5f, 0)")]
    [InlineData("unit_norm", Cons + "UnitNorm(0)")]
    [InlineData("unit_norm(axis=[1, 2])", Cons + "UnitNorm(1, 2)")]
    [InlineData("unit_norm(-2)", Cons + "UnitNorm(2)")]
    public void Constraints_on_a_rank_4_kernel_take_kerass_arguments_and_negative_axes(string text, string code)
    {
        var spec = KerasObjects.Constraint(text, 4, out var error);
        Assert.Null(error);
        Assert.Equal(code, ModelGenerator.ConstraintCode(spec!));
    }

    [Theory]
    [InlineData("non_neg(1)", "non_neg takes at most 0 argument(s) (), got 1")]
    [InlineData("max_norm(axis=[0, 0])", "max_norm axis [0, 0] lists an axis twice")]
    [InlineData("max_norm(axis=[-4, 0])", "max_norm axis [-4, 0] lists an axis twice")]
    [InlineData("max_norm(axis=4)", "max_norm axis [4] is outside a parameter of rank 4")]
    [InlineData("unit_norm(axis=-5)", "unit_norm axis [-5] is outside a parameter of rank 4")]
    [InlineData("max_norm(axis=1.5)", "max_norm argument 'axis' must be an integer or a list of integers")]
    [InlineData("min_max_norm(axis=0, scale=2)", "min_max_norm has no argument 'scale' (it takes min_value, max_value, rate, axis)")]
    [InlineData("clip", "unknown constraint")]
    public void A_wrong_constraint_string_says_what_is_wrong(string text, string message)
    {
        Assert.Null(KerasObjects.Constraint(text, 4, out var error));
        Assert.Equal(message, error);
    }

    [Fact]
    public void Numbers_are_written_so_that_the_float_reads_back_exactly()
    {
        Assert.Equal("0.1f", ModelGenerator.F(0.1));
        Assert.Equal("1E-07f", ModelGenerator.F(1e-7));
        Assert.Equal("-2.5f", ModelGenerator.F(-2.5));
    }
}
