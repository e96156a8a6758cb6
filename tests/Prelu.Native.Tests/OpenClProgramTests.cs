using Prelu.Kernels;
using Prelu.Native.OpenCL;
using Prelu.Tests.Shared;

namespace Prelu.Native.Tests;

/// <summary>
/// A convolution's or pooling's shape runs prelu.cl's shape-generic program for its first launches and a program of its
/// own, its sizes as -D constants, after <see cref="OpenClBackend.SpecialiseAfter"/> of them. The suites meet most shapes a
/// few times only, so they mostly run the generic program: here every kernel of a shape's own program (im2col, col2im,
/// the poolings' forward and both backward kernels) gives the generic program's bits, on shapes that reach every size
/// the build fixes (strides, padding on each side, channels past one block of 16 and not a multiple of it), and the
/// switch happens at the launch the property says. A convolution pooled in the same call (conv_pool.cl) has a program
/// per pair of shapes and activation: each activation met runs its own.
/// </summary>
public sealed class OpenClProgramTests
{
    // Kind, window / strides, padding: strides and padding that differ between rows and columns, windows that overlap and
    // windows that do not (max pooling's two backward kernels).
    public static TheoryData<string> Shapes() => ["conv 3x3/2x1 same", "conv 1x1/2x2 valid", "conv 5x3/1x2 same", "max 3x3/2x2 same",
        "max 2x2/2x2 valid", "max 3x2/1x2 same", "avg 3x3/1x1 same", "avg 2x3/2x1 valid", "avg 5x3/2x1 same"];

    [Theory]
    [MemberData(nameof(Shapes))]
    public void A_shapes_own_program_gives_the_generic_programs_bits(string shape)
    {
        using var generic = OpenClBackend.Create();
        generic.SpecialiseAfter = int.MaxValue;
        using var own = OpenClBackend.Create();
        own.SpecialiseAfter = 0;
        var expected = Run(generic, shape);
        var actual = Run(own, shape);
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(expected[i].AsSpan().SequenceEqual(actual[i]), $"{shape}, result {i}: the shape's own program's bits differ from the generic program's");
    }

    [Fact]
    public void A_shape_gets_its_own_program_after_the_launches_the_property_says()
    {
        using var backend = OpenClBackend.Create();
        Assert.Equal(64, backend.SpecialiseAfter); // the README's and docs/performance.md's figure
        backend.SpecialiseAfter = 3;
        var pool = new Pool2DShape(2, 7, 6, 5, 2, 2);
        using var x = backend.Allocate(Det.Floats(pool.InputLength, 1));
        using var y = backend.Allocate(pool.OutputLength);
        backend.MaxPool2DForward(pool, x, y);
        int programs = backend.ProgramsBuilt;
        backend.MaxPool2DForward(pool, x, y);
        backend.MaxPool2DForward(pool, x, y);
        Assert.Equal(programs, backend.ProgramsBuilt); // launches 1 to 3: the generic program, built with the backend
        backend.MaxPool2DForward(pool, x, y);
        Assert.Equal(programs + 1, backend.ProgramsBuilt); // launch 4: the shape's own
        backend.MaxPool2DForward(pool, x, y);
        Assert.Equal(programs + 1, backend.ProgramsBuilt); // and kept
    }

    // StepsToSpecialise training steps give every shape of a model its own program (the step benchmark warms a model up that
    // long before it times a step): after them, steps on to twice the threshold build nothing (a shape launched once a step
    // would build at its 9th).
    [Fact]
    public void A_models_shapes_all_have_their_own_programs_after_the_steps_the_benchmark_warms_up()
    {
        using var backend = OpenClBackend.Create();
        backend.SpecialiseAfter = 8; // the property's rule at a test's size
        const int Batch = 4;
        using var model = new NormalizedNet(backend, Batch); // 'same' convolutions unpooled, average pooling: shape programs
        model.Initialize(1);
        using var input = backend.Allocate(Det.Floats(Batch * 8 * 8 * 2, 1));
        using var labels = backend.Allocate(Det.OneHot(Batch, 3));
        using var metrics = backend.Allocate(MetricSlot.Count);
        int step = 1;
        for (; step <= backend.StepsToSpecialise; step++)
            model.ComputeGradients(input, labels, Batch, (ulong)step, metrics);
        int programs = backend.ProgramsBuilt;
        for (; step <= 2 * backend.SpecialiseAfter + 1; step++)
            model.ComputeGradients(input, labels, Batch, (ulong)step, metrics);
        Assert.Equal(programs, backend.ProgramsBuilt);
    }

    // `auto` times four steps (BackendChoice.TimeSteps): on OpenCL they run every layer shape's own program, built in the
    // warm-up step, as a training run's steps soon do, and the backend keeps its threshold for what it runs afterwards.
    [Fact]
    public void Autos_timed_steps_run_every_shapes_own_program()
    {
        using var backend = OpenClBackend.Create();
        const int Batch = 4;
        BackendChoice.TimeSteps(backend, b => new NormalizedNet(b, Batch), Batch, 8 * 8 * 2, 3);
        Assert.Equal(64, backend.SpecialiseAfter);
        int programs = backend.ProgramsBuilt;
        backend.SpecialiseAfter = 0; // every shape met from now on on its own program: none is left to build
        BackendChoice.TimeSteps(backend, b => new NormalizedNet(b, Batch), Batch, 8 * 8 * 2, 3);
        Assert.Equal(programs, backend.ProgramsBuilt);
    }

    // conv_pool.cl's program is built per pair of shapes and activation (the activation a -D constant): one backend that
    // pools one pair after several activations in turn runs each one's program, forward and backward, giving what a
    // backend that met only that activation gives.
    [Fact]
    public void A_pooled_convolution_met_with_another_activation_gets_that_activations_program()
    {
        var conv = new Conv2DShape(3, 10, 10, 4, 8, 3, 3);
        var pool = new Pool2DShape(3, conv.OutHeight, conv.OutWidth, conv.Filters, 2, 2);
        FusedActivation[] activations = [FusedActivation.Relu, FusedActivation.Of(ActivationKind.Swish), FusedActivation.Linear, FusedActivation.Relu];
        using var shared = OpenClBackend.Create();
        foreach (var activation in activations)
        {
            using var alone = OpenClBackend.Create();
            var expected = RunPooled(alone, conv, pool, activation);
            var actual = RunPooled(shared, conv, pool, activation);
            for (int i = 0; i < expected.Length; i++)
                Assert.True(expected[i].AsSpan().SequenceEqual(actual[i]), $"{activation.Kind}, result {i}: not what a backend that met only this activation gives");
        }
    }

    // The pooled output, and the input, kernel and bias gradients of one forward and backward of the pair.
    private static float[][] RunPooled(OpenClBackend backend, Conv2DShape conv, Pool2DShape pool, FusedActivation activation)
    {
        using var x = backend.Allocate(Det.Floats(conv.InputLength, 11));
        using var k = backend.Allocate(Det.Floats(conv.KernelLength, 12, -0.5, 0.5));
        using var b = backend.Allocate(Det.Floats(conv.BiasLength, 13));
        using var z = backend.Allocate(conv.OutputLength);
        using var y = backend.Allocate(conv.OutputLength);
        using var pooled = backend.Allocate(pool.OutputLength);
        using var dpooled = backend.Allocate(Det.Floats(pool.OutputLength, 14));
        using var dy = backend.Allocate(conv.OutputLength);
        using var dx = backend.Allocate(conv.InputLength);
        using var dk = backend.Allocate(conv.KernelLength);
        using var db = backend.Allocate(conv.BiasLength);
        var zOrNull = activation.Kind == ActivationKind.Linear ? null : z;
        backend.Conv2DPoolForward(conv, activation, pool, x, k, b, null, zOrNull, y, pooled);
        backend.Conv2DPoolBackward(conv, activation, pool, x, k, null, zOrNull, y, dpooled, dy, dx, dk, db, null);
        return [backend.ToArray(pooled), backend.ToArray(dx), backend.ToArray(dk), backend.ToArray(db)];
    }

    // Every result of the shape's kernels: a convolution's forward and gradients (its im2col and col2im), a pooling's
    // forward and input gradient.
    private static float[][] Run(OpenClBackend backend, string name)
    {
        var parts = name.Split(' ');
        var window = parts[1].Split('x', '/').Select(int.Parse).ToArray();
        int kh = window[0], kw = window[1], sy = window[2], sx = window[3];
        var padding = parts[2] == "same" ? Padding.Same : Padding.Valid;
        if (parts[0] == "conv")
            return OpenClTileTests.RunConvolution(backend, new Conv2DShape(3, 11, 9, 20, 6, kh, kw, sy, sx, padding), FusedActivation.Relu);
        var p = new Pool2DShape(3, 11, 9, 20, kh, kw, sy, sx, padding);
        using var input = backend.Allocate(Det.Floats(p.InputLength, 5));
        using var output = backend.Allocate(p.OutputLength);
        using var outputGrad = backend.Allocate(Det.Floats(p.OutputLength, 6));
        using var inputGrad = backend.Allocate(p.InputLength);
        if (parts[0] == "max")
        {
            backend.MaxPool2DForward(p, input, output);
            backend.MaxPool2DBackward(p, input, outputGrad, inputGrad);
        }
        else
        {
            backend.AvgPool2DForward(p, input, output);
            backend.AvgPool2DBackward(p, outputGrad, inputGrad);
        }
        return [backend.ToArray(output), backend.ToArray(inputGrad)];
    }
}
