using Prelu.Backends;
using Prelu.Kernels;
using Prelu.Tests.Shared;

namespace Prelu.Generators.Tests;

/// <summary>The models in Models.cs, generated and compiled into this assembly, run on the managed backend.</summary>
public sealed class GeneratedModelTests
{
    [Theory]
    [InlineData(typeof(StudyModel), 460_874)]
    [InlineData(typeof(ReluCnn), 431_242)]
    [InlineData(typeof(Mlp), 784 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10)]
    [InlineData(typeof(StridedCnn), (5 * 5 * 1 * 16 + 16) + (3 * 2 * 16 * 24 + 24) + (7 * 7 * 24 * 10 + 10))]
    [InlineData(typeof(ChannelPReluCnn), 320 + 32 + 18_496 + 64 + 409_856 + 1 + 2_570)]
    [InlineData(typeof(UnfusedPReluNet), 1 + 76 + 64 + 195)]
    [InlineData(typeof(IrregularPReluNet), (3 * 3 * 1 * 16 + 16) + 6 * 16 + 3 + (3 * 3 * 16 * 3 + 3))]
    public void Parameter_counts_match_the_study_and_hand_counts(Type model, int expected)
    {
        using var backend = new ManagedBackend();
        using var instance = Create(model, backend, 2);

        Assert.Equal(expected, instance.ParameterCount);
        Assert.Contains($"Total params: {expected:N0}", instance.Summary(), StringComparison.Ordinal);
    }

    [Fact]
    public void The_study_models_summary_reads_like_kerass()
    {
        const string expected = """
            Model: "StudyModel"
            ____________________________________________________________________
             Layer (type)                   Output Shape              Param #
            ====================================================================
             conv2d (Conv2D)                (None, 26, 26, 32)        320
             p_re_lu (PReLU)                (None, 26, 26, 32)        21632
             max_pooling2d (MaxPooling2D)   (None, 13, 13, 32)        0
             dropout (Dropout)              (None, 13, 13, 32)        0
             conv2d_1 (Conv2D)              (None, 11, 11, 64)        18496
             p_re_lu_1 (PReLU)              (None, 11, 11, 64)        7744
             max_pooling2d_1 (MaxPooling2D) (None, 5, 5, 64)          0
             dropout_1 (Dropout)            (None, 5, 5, 64)          0
             flatten (Flatten)              (None, 1600)              0
             dense (Dense)                  (None, 256)               409856
             p_re_lu_2 (PReLU)              (None, 256)               256
             dense_1 (Dense)                (None, 10)                2570
            ====================================================================
            Total params: 460,874
            Trainable params: 460,874
            Non-trainable params: 0
            ____________________________________________________________________

            """;
        using var backend = new ManagedBackend();
        using var model = new StudyModel(backend, 1);
        Assert.Equal(expected.ReplaceLineEndings("\n"), model.Summary());
    }

    [Fact]
    public void Alpha_shapes_follow_kerass_rule()
    {
        using var backend = new ManagedBackend();
        using var study = new StudyModel(backend, 1);
        using var channel = new ChannelPReluCnn(backend, 1);

        Assert.Equal([26, 26, 32], Shape(study, "p_re_lu.alpha"));
        Assert.Equal([11, 11, 64], Shape(study, "p_re_lu_1.alpha"));
        Assert.Equal([256], Shape(study, "p_re_lu_2.alpha"));
        Assert.Equal([1, 1, 32], Shape(channel, "p_re_lu.alpha"));
        Assert.Equal([1, 1, 64], Shape(channel, "p_re_lu_1.alpha"));
        Assert.Equal([1], Shape(channel, "p_re_lu_2.alpha"));
        Assert.All(study.Parameters, p => Assert.Equal(0, p.Offset % CompiledModel.Alignment));
    }

    [Fact]
    public void The_generated_step_equals_the_hand_wired_one_and_pytorchs()
    {
        using var backend = new ManagedBackend();
        using var model = new StudyModel(backend, StudyStep.Batch);
        model.Initialize(StudyStep.Seed);
        foreach (var (name, values) in StudyStep.InitialParameters())
            model.SetParameter(name, values);
        using var input = backend.Allocate(StudyStep.Input());
        using var labels = backend.Allocate(StudyStep.Labels());
        using var metrics = backend.Allocate(MetricSlot.Count);

        model.ComputeGradients(input, labels, StudyStep.Batch, step: 1, metrics);

        var handWired = StudyStep.HandWired(new ManagedBackend());
        Assert.Equal(handWired.LossSum, backend.ToArray(metrics)[MetricSlot.LossSum]);
        foreach (var (name, gradient) in handWired.Gradients)
        {
            var generated = model.GetGradient(name);
            Assert.Equal(gradient, generated); // the same kernels in the same order: the same bits
            Close.Assert(Fixture.Get($"study.grad.{name}"), StudyStep.AsInFixture(name, generated), Close.Gradient, $"gradient of {name}");
        }
        Close.Assert(Fixture.Get("study.loss"), [backend.ToArray(metrics)[MetricSlot.LossSum] / StudyStep.Batch], Close.Forward, "loss");
    }

    [Fact]
    public void A_shorter_last_batch_gives_the_rows_a_full_batch_gives()
    {
        using var backend = new ManagedBackend();
        using var model = new StudyModel(backend, 4);
        model.Initialize(7);
        using var full = backend.Allocate(StudyStep.Input());
        using var three = backend.Allocate(StudyStep.Input().AsSpan(0, 3 * 784));
        using var fullProbabilities = backend.Allocate(40);
        using var threeProbabilities = backend.Allocate(30);

        model.Predict(full, 4, fullProbabilities);
        model.Predict(three, 3, threeProbabilities);

        Assert.Equal(backend.ToArray(fullProbabilities)[..30], backend.ToArray(threeProbabilities));
        Assert.All(Enumerable.Range(0, 3), row => Assert.Equal(1f, backend.ToArray(threeProbabilities).Skip(row * 10).Take(10).Sum(), 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Predict(full, 5, fullProbabilities));
    }

    public static TheoryData<Type> AllModels => new(TestModels.All);

    [Theory]
    [MemberData(nameof(AllModels))]
    public void A_few_adam_steps_fit_a_small_batch(Type type)
    {
        using var backend = new ManagedBackend();
        using var model = Create(type, backend, 8);
        model.Initialize(3);
        var (input, labels) = Batch(model, 8);
        using var metrics = backend.Allocate(MetricSlot.Count);
        using var m = backend.Allocate(model.ParameterArena.Length);
        using var v = backend.Allocate(model.ParameterArena.Length);
        // The models of the other losses fit random values, probabilities and classes with a few dozen weights: they need
        // a larger rate and more steps to get as far as a classifier on well-separated one-hot rows.
        bool otherLoss = TestModels.Losses.Contains(type);
        var adam = new AdamSettings(LearningRate: otherLoss ? 0.02f : 0.003f);
        int Steps = otherLoss ? 150 : 30;

        float LossAt(int step)
        {
            backend.Fill(metrics, 0f);
            model.ComputeGradients(input, labels, 8, (ulong)step, metrics);
            return backend.ToArray(metrics)[MetricSlot.LossSum] / 8;
        }
        float first = LossAt(1);
        for (int step = 1; step <= Steps; step++)
        {
            LossAt(step);
            backend.AdamUpdate(adam, step, model.ParameterArena, model.GradientArena, m, v);
            model.ApplyConstraints();
        }
        // Evaluation normalises with BatchNormalization's moving statistics, which 30 steps at momentum 0.99
        // have barely moved (as in Keras): a model with such state is judged by the loss it trains on.
        backend.Fill(metrics, 0f);
        if (model.States.Count == 0)
            model.Evaluate(input, labels, 8, metrics);
        else
            model.ComputeGradients(input, labels, 8, (ulong)Steps + 1, metrics);
        float last = backend.ToArray(metrics)[MetricSlot.LossSum] / 8;

        Assert.True(last < 0.5f * first, $"{type.Name}: loss {first} -> {last} after {Steps} steps");
    }

    [Fact]
    public void The_same_seed_gives_the_same_weights()
    {
        using var backend = new ManagedBackend();
        using var a = new StudyModel(backend, 1);
        using var b = new StudyModel(backend, 1);
        a.Initialize(42);
        b.Initialize(42);
        Assert.Equal(backend.ToArray(a.ParameterArena), backend.ToArray(b.ParameterArena));
        Assert.All(a.GetParameter("p_re_lu.alpha"), alpha => Assert.Equal(0f, alpha)); // Keras's default: zeros
        using var c = new ChannelPReluCnn(backend, 1);
        c.Initialize(42);
        Assert.All(c.GetParameter("p_re_lu.alpha"), alpha => Assert.Equal(0.25f, alpha));
    }

    private static CompiledModel Create(Type type, Backend backend, int batch) => TestModels.Create(type, backend, batch);

    private static (DeviceBuffer Input, DeviceBuffer Labels) Batch(CompiledModel model, int batch) =>
        (model.Backend.Allocate(Det.Floats(batch * model.InputLength, 5, 0, 1)),
         model.Backend.Allocate(Det.Targets(model.Loss, batch, model.OutputLength)));

    private static IReadOnlyList<int> Shape(CompiledModel model, string name) => model.Parameters.Single(p => p.Name == name).Shape;
}
