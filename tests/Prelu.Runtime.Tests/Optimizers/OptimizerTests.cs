using Prelu.Backends;
using Prelu.Kernels;
using Prelu.Tests.Shared;

namespace Prelu.Runtime.Tests.Optimizers;

/// <summary>
/// The optimizers as a model uses them: one update of the whole parameter arena from the gradient arena,
/// the iteration count, the state a checkpoint saves, and each parameter's constraint after the update.
/// The update formulas themselves are held to Keras's in the kernel conformance tests.
/// </summary>
public sealed class OptimizerTests : IDisposable
{
    private readonly ManagedBackend _backend = new();
    private readonly Mlp _model;
    private readonly float[] _start, _gradient;

    public OptimizerTests()
    {
        _model = new Mlp(_backend, 2);
        _model.Initialize(5);
        _start = _backend.ToArray(_model.ParameterArena);
        _gradient = Det.Floats(_start.Length, 6);
        _backend.Upload(_gradient, _model.GradientArena);
    }

    public void Dispose()
    {
        _model.Dispose();
        _backend.Dispose();
    }

    [Fact]
    public void Plain_sgd_moves_every_parameter_against_its_gradient_and_keeps_no_state()
    {
        using var sgd = new Sgd(new SgdSettings(0.5f));

        sgd.Step(_model);

        Assert.Equal(1, sgd.Iterations);
        Assert.Empty(sgd.State(_model));
        Assert.Equal(_start.Select((w, i) => w - 0.5f * _gradient[i]), _backend.ToArray(_model.ParameterArena));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Sgd_with_momentum_keeps_its_velocity_between_steps_as_keras_does(bool nesterov)
    {
        using var sgd = new Sgd(new SgdSettings(0.1f, 0.9f, nesterov));

        sgd.Step(_model);
        sgd.Step(_model);

        // Keras: v = momentum v - lr g; w += v, or with Nesterov w += momentum v - lr g.
        var expected = (float[])_start.Clone();
        var velocity = new float[_start.Length];
        for (int step = 0; step < 2; step++)
        {
            for (int i = 0; i < expected.Length; i++)
            {
                velocity[i] = -_gradient[i] * 0.1f + velocity[i] * 0.9f;
                expected[i] += nesterov ? -_gradient[i] * 0.1f + velocity[i] * 0.9f : velocity[i];
            }
        }
        Assert.Equal(2, sgd.Iterations);
        var state = Assert.Single(sgd.State(_model));
        Assert.Equal("velocity", state.Name);
        Assert.Equal(velocity, _backend.ToArray(state.Buffer));
        Assert.Equal(expected, _backend.ToArray(_model.ParameterArena));
    }

    [Fact]
    public void Adam_keeps_both_moments_named_for_the_checkpoint_and_counts_its_steps()
    {
        using var adam = new Adam(new AdamSettings(LearningRate: 0.01f));

        adam.Step(_model);

        Assert.Equal(1, adam.Iterations);
        var state = adam.State(_model);
        Assert.Equal(["m", "v"], state.Select(s => s.Name));
        Assert.Equal(_gradient.Select(g => g * (1f - 0.9f)), _backend.ToArray(state[0].Buffer)); // m = (1 - beta1) g
        Assert.Equal(_gradient.Select(g => g * g * (1f - 0.999f)), _backend.ToArray(state[1].Buffer)); // v = (1 - beta2) g^2
        // The first step moves each weight by about the learning rate, against its gradient.
        var moved = _backend.ToArray(_model.ParameterArena).Select((w, i) => w - _start[i]).ToArray();
        Assert.All(Enumerable.Range(0, moved.Length).Where(i => _gradient[i] != 0), i =>
        {
            Assert.Equal(-Math.Sign(_gradient[i]), Math.Sign(moved[i]));
            Assert.InRange(Math.Abs(moved[i]), 0.009f, 0.0101f);
        });
    }

    [Fact]
    public void Adam_makes_fresh_state_for_another_model_and_keeps_it_for_the_same()
    {
        using var adam = new Adam();
        adam.Step(_model);
        var first = adam.State(_model)[0].Buffer;
        Assert.Same(first, adam.State(_model)[0].Buffer);

        using var other = new UnfusedPReluNet(_backend, 1);
        var state = adam.State(other);

        Assert.Equal(other.ParameterArena.Length, state[0].Buffer.Length);
        Assert.Equal(other.ParameterArena.Length, state[1].Buffer.Length);
        Assert.All(_backend.ToArray(state[0].Buffer), m => Assert.Equal(0f, m));
        Assert.True(first.IsDisposed);
    }

    [Fact]
    public void Disposing_an_optimizer_frees_its_state()
    {
        var adam = new Adam();
        adam.Step(_model);
        var adamState = adam.State(_model);
        var sgd = new Sgd(new SgdSettings(0.1f, 0.5f));
        sgd.Step(_model);
        var velocity = sgd.State(_model)[0].Buffer;

        adam.Dispose();
        sgd.Dispose();

        Assert.All(adamState, s => Assert.True(s.Buffer.IsDisposed));
        Assert.True(velocity.IsDisposed);
    }

    [Fact]
    public void A_step_applies_each_parameters_constraint_after_the_update()
    {
        using var model = new StridedCnn(_backend, 1); // conv2d_1.kernel: max_norm(3, axis=[0, 1, 2])
        model.Initialize(2);
        _backend.Upload(Enumerable.Repeat(-1000f, model.ParameterArena.Length).ToArray(), model.GradientArena);
        using var sgd = new Sgd(new SgdSettings(1f));

        sgd.Step(model);

        var kernel = model.GetParameter("conv2d_1.kernel"); // (3, 2, 16, 24): one norm per output filter
        for (int f = 0; f < 24; f++)
        {
            double norm = Math.Sqrt(Enumerable.Range(0, 3 * 2 * 16).Sum(i => (double)kernel[i * 24 + f] * kernel[i * 24 + f]));
            Assert.InRange(norm, 2.999, 3.0001);
        }
        Assert.All(model.GetParameter("conv2d.kernel"), w => Assert.True(w > 900f)); // no constraint there
    }

    [Fact]
    public void The_iteration_count_can_be_restored_but_not_below_zero()
    {
        using var adam = new Adam();
        adam.RestoreIterations(41);
        adam.Step(_model);

        Assert.Equal(42, adam.Iterations);
        Refused.Assert<ArgumentOutOfRangeException>(() => adam.RestoreIterations(-1), "iterations");
        Assert.Equal("adam", adam.Name);
        Assert.Equal("sgd", new Sgd(new SgdSettings()).Name);
    }

    [Fact]
    public void Exponential_decay_is_kerass_formula_smooth_or_in_stairs()
    {
        var smooth = new ExponentialDecay(0.001f, 200, 0.85f);
        var stairs = new ExponentialDecay(0.001f, 200, 0.85f, staircase: true);

        Assert.Equal(0.001f, smooth.At(0));
        Assert.Equal(0.001f * MathF.Pow(0.85f, 0.5f), smooth.At(100));
        Assert.Equal(0.001f * 0.85f * 0.85f, smooth.At(400), 9);
        Assert.Equal(0.001f, stairs.At(199));
        Assert.Equal(0.001f * 0.85f, stairs.At(200));
        Assert.Equal(0.001f * 0.85f, stairs.At(399));
        Refused.Assert<ArgumentOutOfRangeException>(() => new ExponentialDecay(0f, 200, 0.85f), "initialLearningRate", "positive");
        Refused.Assert<ArgumentOutOfRangeException>(() => new ExponentialDecay(0.001f, 0, 0.85f), "decaySteps");
        Refused.Assert<ArgumentOutOfRangeException>(() => new ExponentialDecay(0.001f, 200, -1f), "decayRate", "positive");
        Refused.Assert<ArgumentOutOfRangeException>(() => smooth.At(-1), "iteration");
    }

    [Fact]
    public void A_schedule_sets_each_updates_learning_rate_from_the_updates_before_it()
    {
        // Two updates with a schedule that halves the rate every update, against the kernel called by hand
        // with the rate each update should use (0.01, then 0.005), from a checkpoint-restored count too.
        var schedule = new ExponentialDecay(0.01f, 1, 0.5f);
        using var sgd = new Sgd(new SgdSettings(LearningRate: 123f)) { Schedule = schedule };
        sgd.Step(_model);
        sgd.Step(_model);

        using var expected = _backend.Allocate(_start);
        using var gradient = _backend.Allocate(_gradient);
        _backend.SgdUpdate(new SgdSettings(0.01f), expected, gradient, null);
        _backend.SgdUpdate(new SgdSettings(0.005f), expected, gradient, null);
        Assert.Equal(_backend.ToArray(expected), _backend.ToArray(_model.ParameterArena));

        using var adam = new Adam { Schedule = schedule };
        adam.RestoreIterations(3);
        using var m = _backend.Allocate(_start.Length);
        using var v = _backend.Allocate(_start.Length);
        var before = _backend.ToArray(_model.ParameterArena);
        adam.Step(_model);
        using var byHand = _backend.Allocate(before);
        _backend.AdamUpdate(new AdamSettings(LearningRate: 0.01f * 0.125f), 4, byHand, gradient, m, v);
        Assert.Equal(_backend.ToArray(byHand), _backend.ToArray(_model.ParameterArena));
    }
}
