using System.Text;
using Prelu.Backends;
using Prelu.Kernels;
using Prelu.Reference;
using Silk.NET.OpenCL;

namespace Prelu.Native.OpenCL;

/// <summary>
/// The kernel contract on an OpenCL device (a GPU, or a CPU through PoCL), through Silk.NET.OpenCL. All
/// tensors live in device memory; uploads and downloads are the only copies. The kernels (prelu.cl,
/// embedded) are built once per backend. PReLU with an irregular set of shared axes, regularizers and
/// constraints run on the host through the reference kernels (rare, and correct). One thread at a time
/// may use a backend (its CL kernels hold their arguments).
/// </summary>
public sealed unsafe class OpenClBackend : Backend
{
    private readonly CL _cl;
    private readonly nint _context, _queue, _device;
    private readonly Dictionary<string, nint> _programs = [];   // by the -D defines of a layer shape ("" for any shape)
    private readonly Dictionary<(string Defines, string Name), nint> _kernels = [];
    private readonly DeviceBuffer _dummy;
    private DeviceBuffer? _rows;
    private bool _disposed;
    private int _liveBuffers;

    /// <summary>cl_mem objects this backend holds now (allocated and not yet disposed): what a leak test watches.</summary>
    public int LiveBuffers => Volatile.Read(ref _liveBuffers);

    /// <summary>Creates a backend on <paramref name="device"/>.</summary>
    /// <exception cref="ClException">A CL call failed; the kernels' build log is in the message.</exception>
    public OpenClBackend(OpenClDevice device)
    {
        _cl = OpenClDevices.ApiOrThrow();
        Device = device;
        int error;
        nint id = device.Id;
        _context = _cl.CreateContext(null, 1, &id, default, null, &error);
        ClException.Check(error, "clCreateContext");
        _queue = _cl.CreateCommandQueue(_context, id, CommandQueueProperties.None, &error);
        ClException.Check(error, "clCreateCommandQueue");
        _device = id;
        _programs[""] = BuildProgram(id, "");
        _dummy = AllocateCore(1);
    }

    /// <summary>Picks a device (see <see cref="OpenClDevices.Choose"/>) and creates a backend on it.</summary>
    /// <exception cref="InvalidOperationException">There is no OpenCL device to use; the message says why.</exception>
    public static OpenClBackend Create(string? device = null) =>
        new(OpenClDevices.Choose(device, out var reason) ?? throw new InvalidOperationException($"No OpenCL backend: {reason}"));

    public OpenClDevice Device { get; }

    public override string Name => $"opencl ({Device.Name})";

    /// <summary>Where built programs are kept: $PRELU_OPENCL_CACHE, else ~/.cache/prelu/opencl.</summary>
    public static string CacheFolder =>
        Environment.GetEnvironmentVariable("PRELU_OPENCL_CACHE") is { Length: > 0 } folder ? folder
        : Path.Combine(Prelu.Data.DataFolders.UserCacheFolder(), "prelu", "opencl");

    /// <summary>Whether the shape-generic program came from the on-disk cache (for tests and logs).</summary>
    public bool ProgramFromCache { get; private set; }

    // The kernels, built for this device: from the cache when a binary for this device, driver and source
    // is there, else from source (and the binary is then cached, written to a temporary file and renamed).
    private nint BuildProgram(nint device, string defines)
    {
        using var stream = typeof(OpenClBackend).Assembly.GetManifestResourceStream("Prelu.Native.OpenCL.prelu.cl")
            ?? throw new InvalidOperationException("the OpenCL kernels (prelu.cl) are not embedded in Prelu.Native");
        var source = new StreamReader(stream).ReadToEnd();
        string options = ("-cl-std=CL1.2 " + defines).Trim();
        var key = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(string.Join("\n",
            Device.PlatformName, Device.Name, OpenClDevices.DeviceText(_cl, device, DeviceInfo.DriverVersion), options, source))));
        var cached = Path.Combine(CacheFolder, key + ".bin");
        if (File.Exists(cached) && TryBuildFromBinary(device, File.ReadAllBytes(cached), options) is { } fromCache)
        {
            ProgramFromCache |= defines.Length == 0;
            return fromCache;
        }
        var program = BuildFromSource(device, source, options);
        TryCache(program, cached);
        return program;
    }

    private nint BuildFromSource(nint device, string source, string options)
    {
        var bytes = Encoding.UTF8.GetBytes(source);
        int error;
        nint program;
        fixed (byte* text = bytes)
        {
            byte* texts = text;
            nuint length = (nuint)bytes.Length;
            program = _cl.CreateProgramWithSource(_context, 1, &texts, &length, &error);
        }
        ClException.Check(error, "clCreateProgramWithSource");
        error = Build(program, device, options);
        if (error != 0)
        {
            nuint size = 0;
            _cl.GetProgramBuildInfo(program, device, ProgramBuildInfo.BuildLog, 0, null, &size);
            var log = new byte[size];
            fixed (byte* l = log)
                _cl.GetProgramBuildInfo(program, device, ProgramBuildInfo.BuildLog, size, l, null);
            _cl.ReleaseProgram(program);
            throw new ClException("clBuildProgram(prelu.cl)", error, Encoding.UTF8.GetString(log).TrimEnd('\0'));
        }
        return program;
    }

    private nint? TryBuildFromBinary(nint device, byte[] binary, string options)
    {
        int error, status;
        nint program;
        fixed (byte* b = binary)
        {
            byte* binaries = b;
            nuint length = (nuint)binary.Length;
            program = _cl.CreateProgramWithBinary(_context, 1, &device, &length, &binaries, &status, &error);
        }
        if (error != 0 || status != 0)
            return null; // a stale or foreign binary: build from source instead
        if (Build(program, device, options) != 0)
        {
            _cl.ReleaseProgram(program);
            return null;
        }
        return program;
    }

    private int Build(nint program, nint device, string options)
    {
        var bytes = Encoding.UTF8.GetBytes(options + "\0");
        fixed (byte* o = bytes)
            return _cl.BuildProgram(program, 1, &device, o, default, null);
    }

    private void TryCache(nint program, string path)
    {
        try
        {
            nuint size = 0;
            if (_cl.GetProgramInfo(program, ProgramInfo.BinarySizes, (nuint)sizeof(nuint), &size, null) != 0 || size == 0)
                return;
            var binary = new byte[size];
            fixed (byte* b = binary)
            {
                byte* binaries = b;
                if (_cl.GetProgramInfo(program, ProgramInfo.Binaries, (nuint)sizeof(nint), &binaries, null) != 0)
                    return;
            }
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var temporary = $"{path}.{Environment.ProcessId}.tmp";
            File.WriteAllBytes(temporary, binary);
            File.Move(temporary, path, overwrite: true);
        }
        catch (IOException)
        {
            // The cache only saves time; a folder that cannot be written costs a build next time, nothing more.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    // ---- Buffers: a cl_mem and an offset in floats ------------------------------------------------------------

    private sealed class ClBuffer(OpenClBackend owner, nint memory, int offset, int length, bool owns) : DeviceBuffer(owner, length)
    {
        public nint Memory { get; } = memory;
        public int Offset { get; } = offset;

        protected override DeviceBuffer SliceCore(int start, int count) => new ClBuffer((OpenClBackend)Owner, Memory, Offset + start, count, owns: false);

        protected override void Free()
        {
            if (!owns)
                return;
            var backend = (OpenClBackend)Owner;
            ClException.Check(backend._cl.ReleaseMemObject(Memory), "clReleaseMemObject");
            Interlocked.Decrement(ref backend._liveBuffers);
        }
    }

    private static ClBuffer B(DeviceBuffer buffer) => (ClBuffer)buffer;

    protected override DeviceBuffer AllocateCore(int length)
    {
        int error;
        var memory = _cl.CreateBuffer(_context, MemFlags.ReadWrite, (nuint)Math.Max(length, 1) * sizeof(float), null, &error);
        ClException.Check(error, "clCreateBuffer");
        var buffer = new ClBuffer(this, memory, 0, length, owns: true);
        Interlocked.Increment(ref _liveBuffers);
        FillCore(buffer, 0f);
        return buffer;
    }

    protected override void UploadCore(ReadOnlySpan<float> source, DeviceBuffer destination)
    {
        if (source.IsEmpty)
            return;
        var b = B(destination);
        fixed (float* s = source)
            ClException.Check(_cl.EnqueueWriteBuffer(_queue, b.Memory, true, (nuint)b.Offset * sizeof(float), (nuint)source.Length * sizeof(float), s, 0, null, null), "clEnqueueWriteBuffer");
    }

    protected override void DownloadCore(DeviceBuffer source, Span<float> destination)
    {
        if (destination.IsEmpty)
            return;
        var b = B(source);
        fixed (float* d = destination)
            ClException.Check(_cl.EnqueueReadBuffer(_queue, b.Memory, true, (nuint)b.Offset * sizeof(float), (nuint)destination.Length * sizeof(float), d, 0, null, null), "clEnqueueReadBuffer");
    }

    protected override void FillCore(DeviceBuffer buffer, float value)
    {
        if (buffer.Length == 0)
            return;
        var b = B(buffer);
        ClException.Check(_cl.EnqueueFillBuffer(_queue, b.Memory, &value, sizeof(float), (nuint)b.Offset * sizeof(float), (nuint)b.Length * sizeof(float), 0, null, null), "clEnqueueFillBuffer");
    }

    protected override void CopyCore(DeviceBuffer source, DeviceBuffer destination)
    {
        if (source.Length == 0)
            return;
        var s = B(source);
        var d = B(destination);
        ClException.Check(_cl.EnqueueCopyBuffer(_queue, s.Memory, d.Memory, (nuint)s.Offset * sizeof(float), (nuint)d.Offset * sizeof(float), (nuint)s.Length * sizeof(float), 0, null, null), "clEnqueueCopyBuffer");
    }

    public override void Synchronize() => ClException.Check(_cl.Finish(_queue), "clFinish");

    // ---- Launching kernels -----------------------------------------------------------------------------------

    // A kernel from the program built for these defines (a layer shape), built on first use.
    private nint Kernel(string name, string defines)
    {
        if (_kernels.TryGetValue((defines, name), out var kernel))
            return kernel;
        if (!_programs.TryGetValue(defines, out var program))
            program = _programs[defines] = BuildProgram(_device, defines);
        var bytes = Encoding.UTF8.GetBytes(name + "\0");
        int error;
        fixed (byte* n = bytes)
            kernel = _cl.CreateKernel(program, n, &error);
        ClException.Check(error, $"clCreateKernel({name})");
        return _kernels[(defines, name)] = kernel;
    }

    // The -D defines of each shape met, made once: a launch builds no string.
    private readonly Dictionary<Conv2DShape, string> _convDefines = [];
    private readonly Dictionary<Pool2DShape, string> _poolDefines = [];
    private readonly Dictionary<DenseShape, string> _denseDefines = [];

    private string Defines(in Conv2DShape s) =>
        _convDefines.TryGetValue(s, out var defines) ? defines : _convDefines[s] = ConvDefines(s);

    private string Defines(in Pool2DShape s) =>
        _poolDefines.TryGetValue(s, out var defines) ? defines : _poolDefines[s] = PoolDefines(s);

    private string Defines(in DenseShape s) =>
        _denseDefines.TryGetValue(s, out var defines) ? defines : _denseDefines[s] = $"-D S_DENSE -D S_B={s.Batch} -D S_I={s.Inputs} -D S_U={s.Units}";

    private static string ConvDefines(in Conv2DShape s) =>
        $"-D S_CONV -D S_N={s.Batch} -D S_H={s.Height} -D S_W={s.Width} -D S_C={s.InChannels} -D S_F={s.Filters} -D S_KH={s.KernelHeight} " +
        $"-D S_KW={s.KernelWidth} -D S_SY={s.StrideY} -D S_SX={s.StrideX} -D S_PT={s.PadTop} -D S_PL={s.PadLeft} -D S_OH={s.OutHeight} -D S_OW={s.OutWidth}";

    private static string PoolDefines(in Pool2DShape s) =>
        $"-D S_POOL -D S_N={s.Batch} -D S_H={s.Height} -D S_W={s.Width} -D S_C={s.Channels} -D S_KH={s.PoolHeight} -D S_KW={s.PoolWidth} " +
        $"-D S_SY={s.StrideY} -D S_SX={s.StrideX} -D S_PT={s.PadTop} -D S_PL={s.PadLeft} -D S_OH={s.OutHeight} -D S_OW={s.OutWidth}";


    /// <summary>Sets a kernel's arguments in order and runs it over <paramref name="global"/> work-items.</summary>
    private ref struct Launch
    {
        private readonly OpenClBackend _backend;
        private readonly nint _kernel;
        private readonly string _name;
        private uint _index;

        public Launch(OpenClBackend backend, string name, string defines)
        {
            _backend = backend;
            _name = name;
            _kernel = backend.Kernel(name, defines);
            _index = 0;
        }

        // The call's name is built only when it failed: a launch allocates nothing.
        private void Set(nuint size, void* value)
        {
            int code = _backend._cl.SetKernelArg(_kernel, _index++, size, value);
            if (code != 0)
                throw new ClException($"clSetKernelArg({_name}, argument {_index - 1})", code);
        }

        public Launch Int(int value)
        {
            Set(sizeof(int), &value);
            return this;
        }

        public Launch UInt(uint value)
        {
            Set(sizeof(uint), &value);
            return this;
        }

        public Launch Float(float value)
        {
            Set(sizeof(float), &value);
            return this;
        }

        /// <summary>A buffer as (cl_mem, offset); null passes a one-float dummy that the kernel does not read.</summary>
        public Launch Buffer(DeviceBuffer? buffer)
        {
            var b = B(buffer ?? _backend._dummy);
            nint memory = b.Memory;
            Set((nuint)sizeof(nint), &memory);
            return Int(b.Offset);
        }

        /// <summary>A buffer without an offset argument (scratch that is never a slice).</summary>
        public Launch Memory(DeviceBuffer buffer)
        {
            nint memory = B(buffer).Memory;
            Set((nuint)sizeof(nint), &memory);
            return this;
        }

        public readonly void Run(long global)
        {
            if (global <= 0)
                return;
            nuint size = (nuint)global;
            int code = _backend.FaultInjection?.Invoke(_name) ?? 0;
            if (code == 0)
                code = _backend._cl.EnqueueNdrangeKernel(_backend._queue, _kernel, 1, null, &size, null, 0, null, null);
            if (code != 0)
                throw new ClException($"clEnqueueNDRangeKernel({_name})", code);
        }
    }

    private Launch Run(string name, string defines = "") => new(this, name, defines);

    /// <summary>
    /// A test seam for device faults: given a kernel's name, the CL error its launch should fail with
    /// (0: launch it). Tests make a device fail mid-run to check that the fault is reported and nothing is lost.
    /// </summary>
    internal Func<string, int>? FaultInjection { get; set; }

    private static Launch Conv(Launch launch, in Conv2DShape s) => launch.Int(s.Batch).Int(s.Height).Int(s.Width).Int(s.InChannels).Int(s.Filters)
        .Int(s.KernelHeight).Int(s.KernelWidth).Int(s.StrideY).Int(s.StrideX).Int(s.PadTop).Int(s.PadLeft).Int(s.OutHeight).Int(s.OutWidth);

    private static Launch Pool(Launch launch, in Pool2DShape s) => launch.Int(s.Batch).Int(s.Height).Int(s.Width).Int(s.Channels)
        .Int(s.PoolHeight).Int(s.PoolWidth).Int(s.StrideY).Int(s.StrideX).Int(s.PadTop).Int(s.PadLeft).Int(s.OutHeight).Int(s.OutWidth);

    // (kind, leaky, sharing, channels) of an activation the device kernels handle; false for mapped PReLU sharing.
    private static bool Regular(FusedActivation activation, out int sharing, out int channels)
    {
        sharing = 0;
        channels = 1;
        if (activation.PRelu is not { } prelu)
            return true;
        channels = prelu.FeatureDims[^1];
        sharing = prelu.Sharing switch
        {
            PReluSharing.PerElement => 0,
            PReluSharing.ChannelWise => 1,
            PReluSharing.ChannelShared => 2,
            _ => -1,
        };
        return sharing >= 0;
    }

    // ---- The contract ---------------------------------------------------------------------------------------------

    protected override void Conv2DForwardCore(in Conv2DShape shape, FusedActivation activation, DeviceBuffer input, DeviceBuffer kernel,
        DeviceBuffer? bias, DeviceBuffer? alpha, DeviceBuffer? preActivation, DeviceBuffer output)
    {
        if (!Regular(activation, out int sharing, out int channels))
        {
            var s = shape;
            OnHost([input, kernel, bias, alpha], [preActivation, output], (m, h) => m.Conv2DForward(s, activation, h[0]!, h[1]!, h[2], h[3], h[4], h[5]!));
            return;
        }
        Conv(Run("conv_forward", Defines(shape)), shape).Buffer(input).Buffer(kernel).Buffer(bias).Int(bias is null ? 0 : 1)
            .Int((int)activation.Kind).Float(activation.LeakyAlpha).Int(sharing).Int(channels).Buffer(alpha)
            .Buffer(preActivation).Int(preActivation is null ? 0 : 1).Buffer(output).Run(shape.OutputLength);
    }

    protected override void Conv2DBackwardCore(in Conv2DShape shape, FusedActivation activation, DeviceBuffer input, DeviceBuffer kernel,
        DeviceBuffer? alpha, DeviceBuffer? preActivation, DeviceBuffer outputGrad, DeviceBuffer? inputGrad,
        DeviceBuffer kernelGrad, DeviceBuffer? biasGrad, DeviceBuffer? alphaGrad)
    {
        if (!Regular(activation, out _, out _))
        {
            var s = shape;
            OnHost([input, kernel, alpha, preActivation, outputGrad], [outputGrad, inputGrad, kernelGrad, biasGrad, alphaGrad],
                (m, h) => m.Conv2DBackward(s, activation, h[0]!, h[1]!, h[2], h[3], h[4]!, h[6], h[7]!, h[8], h[9]), inPlace: [(4, 0)]);
            return;
        }
        EpilogueBackward(activation, shape.Batch, shape.OutputLength / shape.Batch, preActivation, alpha, outputGrad, alphaGrad);
        Conv(Run("conv_backward_kernel", Defines(shape)), shape).Buffer(input).Buffer(outputGrad).Buffer(kernelGrad).Run(shape.KernelLength);
        if (biasGrad is not null)
            Run("bias_grad").Int(shape.Batch * shape.OutHeight * shape.OutWidth).Int(shape.Filters).Buffer(outputGrad).Buffer(biasGrad).Run(shape.Filters);
        if (inputGrad is not null)
            Conv(Run("conv_backward_input", Defines(shape)), shape).Buffer(kernel).Buffer(outputGrad).Buffer(inputGrad).Run(shape.InputLength);
    }

    // dL/dy -> dL/dz in place, the alpha gradient first (it needs dL/dy).
    private void EpilogueBackward(FusedActivation activation, int batch, int features, DeviceBuffer? z, DeviceBuffer? alpha, DeviceBuffer grad, DeviceBuffer? alphaGrad)
    {
        if (activation.Kind == ActivationKind.Linear)
            return;
        Regular(activation, out int sharing, out int channels);
        if (activation.Kind == ActivationKind.PRelu && alphaGrad is not null)
        {
            Run("prelu_alpha_grad").Int(batch).Int(features).Int(sharing).Int(channels).Buffer(z).Buffer(grad).Buffer(alphaGrad)
                .Run(activation.PRelu!.AlphaLength);
        }
        Run("activation_backward").Int(features).Int((int)activation.Kind).Float(activation.LeakyAlpha).Int(sharing).Int(channels)
            .Buffer(z).Buffer(alpha).Buffer(grad).Run((long)batch * features);
    }

    protected override void MaxPool2DForwardCore(in Pool2DShape shape, DeviceBuffer input, DeviceBuffer output) =>
        Pool(Run("maxpool_forward", Defines(shape)), shape).Buffer(input).Buffer(output).Run(shape.OutputLength);

    protected override void MaxPool2DBackwardCore(in Pool2DShape shape, DeviceBuffer input, DeviceBuffer outputGrad, DeviceBuffer inputGrad) =>
        Pool(Run("maxpool_backward", Defines(shape)), shape).Buffer(input).Buffer(outputGrad).Buffer(inputGrad).Run(shape.InputLength);

    protected override void DenseForwardCore(in DenseShape shape, FusedActivation activation, DeviceBuffer input, DeviceBuffer kernel,
        DeviceBuffer? bias, DeviceBuffer? alpha, DeviceBuffer? preActivation, DeviceBuffer output)
    {
        if (!Regular(activation, out int sharing, out int channels))
        {
            var s = shape;
            OnHost([input, kernel, bias, alpha], [preActivation, output], (m, h) => m.DenseForward(s, activation, h[0]!, h[1]!, h[2], h[3], h[4], h[5]!));
            return;
        }
        Run("dense_forward", Defines(shape)).Int(shape.Batch).Int(shape.Inputs).Int(shape.Units).Buffer(input).Buffer(kernel).Buffer(bias).Int(bias is null ? 0 : 1)
            .Int((int)activation.Kind).Float(activation.LeakyAlpha).Int(sharing).Int(channels).Buffer(alpha)
            .Buffer(preActivation).Int(preActivation is null ? 0 : 1).Buffer(output).Run(shape.OutputLength);
    }

    protected override void DenseBackwardCore(in DenseShape shape, FusedActivation activation, DeviceBuffer input, DeviceBuffer kernel,
        DeviceBuffer? alpha, DeviceBuffer? preActivation, DeviceBuffer outputGrad, DeviceBuffer? inputGrad,
        DeviceBuffer kernelGrad, DeviceBuffer? biasGrad, DeviceBuffer? alphaGrad)
    {
        if (!Regular(activation, out _, out _))
        {
            var s = shape;
            OnHost([input, kernel, alpha, preActivation, outputGrad], [outputGrad, inputGrad, kernelGrad, biasGrad, alphaGrad],
                (m, h) => m.DenseBackward(s, activation, h[0]!, h[1]!, h[2], h[3], h[4]!, h[6], h[7]!, h[8], h[9]), inPlace: [(4, 0)]);
            return;
        }
        EpilogueBackward(activation, shape.Batch, shape.Units, preActivation, alpha, outputGrad, alphaGrad);
        Run("dense_backward_kernel", Defines(shape)).Int(shape.Batch).Int(shape.Inputs).Int(shape.Units).Buffer(input).Buffer(outputGrad).Buffer(kernelGrad).Run(shape.KernelLength);
        if (biasGrad is not null)
            Run("bias_grad").Int(shape.Batch).Int(shape.Units).Buffer(outputGrad).Buffer(biasGrad).Run(shape.Units);
        if (inputGrad is not null)
            Run("dense_backward_input", Defines(shape)).Int(shape.Batch).Int(shape.Inputs).Int(shape.Units).Buffer(kernel).Buffer(outputGrad).Buffer(inputGrad).Run(shape.InputLength);
    }

    protected override void ActivationForwardCore(FusedActivation activation, DeviceBuffer x, DeviceBuffer? alpha, DeviceBuffer y)
    {
        if (!Regular(activation, out int sharing, out int channels))
        {
            OnHost([x, alpha], [y], (m, h) => m.ActivationForward(activation, h[0]!, h[1], h[2]!));
            return;
        }
        int features = activation.PRelu?.FeatureLength ?? x.Length;
        Run("activation_forward").Int(features).Int((int)activation.Kind).Float(activation.LeakyAlpha).Int(sharing).Int(channels)
            .Buffer(x).Buffer(alpha).Buffer(y).Run(x.Length);
    }

    protected override void ActivationBackwardCore(FusedActivation activation, DeviceBuffer x, DeviceBuffer? alpha, DeviceBuffer dy, DeviceBuffer? dx, DeviceBuffer? alphaGrad)
    {
        if (!Regular(activation, out _, out _))
        {
            OnHost([x, alpha, dy], [dy, dx, alphaGrad], (m, h) => m.ActivationBackward(activation, h[0]!, h[1], h[3]!, h[4], h[5]), inPlace: [(2, 0)]);
            return;
        }
        var grad = dx ?? dy;
        if (dx is not null && !ReferenceEquals(dx, dy))
            CopyCore(dy, dx);
        int features = activation.PRelu?.FeatureLength ?? x.Length;
        EpilogueBackward(activation, x.Length / features, features, x, alpha, grad, alphaGrad);
    }

    protected override void DropoutForwardCore(float rate, ulong seed, ulong step, DeviceBuffer x, DeviceBuffer mask, DeviceBuffer y) =>
        Run("dropout_forward").Float(rate).UInt(DropoutRandom.Base(seed, step)).Float(1f / (1f - rate)).Buffer(x).Buffer(mask).Buffer(y).Run(x.Length);

    protected override void DropoutBackwardCore(DeviceBuffer mask, DeviceBuffer dy, DeviceBuffer dx) =>
        Run("multiply").Buffer(dy).Buffer(mask).Buffer(dx).Run(mask.Length);

    protected override void SoftmaxCrossEntropyCore(int batch, int classes, DeviceBuffer logits, DeviceBuffer? labels, DeviceBuffer probabilities,
        DeviceBuffer? logitsGrad, DeviceBuffer? metrics)
    {
        if (_rows is null || _rows.Length < 2 * batch)
        {
            _rows?.Dispose();
            _rows = AllocateCore(2 * batch);
        }
        Run("softmax_cross_entropy").Int(batch).Int(classes).Buffer(logits).Buffer(labels).Int(labels is null ? 0 : 1).Buffer(probabilities)
            .Buffer(logitsGrad).Int(logitsGrad is null ? 0 : 1).Memory(_rows).Run(batch);
        if (labels is not null && metrics is not null)
            Run("add_metrics").Int(batch).Memory(_rows).Buffer(metrics).Run(1);
    }

    protected override void AdamUpdateCore(in AdamSettings settings, long step, DeviceBuffer param, DeviceBuffer grad, DeviceBuffer m, DeviceBuffer v) =>
        Run("adam").Float(settings.StepSize(step)).Float(settings.Beta1).Float(settings.Beta2).Float(settings.Epsilon)
            .Buffer(param).Buffer(grad).Buffer(m).Buffer(v).Run(param.Length);

    protected override void SgdUpdateCore(in SgdSettings settings, DeviceBuffer param, DeviceBuffer grad, DeviceBuffer? velocity) =>
        Run("sgd").Float(settings.LearningRate).Float(settings.Momentum).Int(settings.Nesterov ? 1 : 0)
            .Buffer(param).Buffer(grad).Buffer(velocity).Run(param.Length);

    protected override void AddRegularizerCore(in Regularizer regularizer, DeviceBuffer param, DeviceBuffer grad, DeviceBuffer metrics, float lossWeight)
    {
        var r = regularizer;
        OnHost([param, grad, metrics], [grad, metrics], (m, h) => m.AddRegularizer(r, h[0]!, h[3]!, h[4]!, lossWeight), inPlace: [(1, 0), (2, 1)]);
    }

    protected override void ApplyConstraintCore(Constraint constraint, IReadOnlyList<int> dims, DeviceBuffer param) =>
        OnHost([param], [param], (m, h) => m.ApplyConstraint(constraint, dims, h[1]!), inPlace: [(0, 0)]);

    /// <summary>
    /// Runs <paramref name="operation"/> on host copies through the reference kernels: the inputs are
    /// downloaded, then the outputs allocated (one list, inputs first), and the outputs uploaded after.
    /// <paramref name="inPlace"/> pairs an input with the output (index among the outputs) that is the
    /// same buffer, so that both name one host copy.
    /// </summary>
    private void OnHost(DeviceBuffer?[] inputs, DeviceBuffer?[] outputs, Action<ManagedBackend, DeviceBuffer?[]> operation, (int Input, int Output)[]? inPlace = null)
    {
        CountHostFallback();
        using var host = new ManagedBackend();
        int n = inputs.Length;
        var copies = new DeviceBuffer?[n + outputs.Length];
        for (int i = 0; i < n; i++)
            copies[i] = inputs[i] is { } b ? host.Allocate(ToArray(b)) : null;
        for (int o = 0; o < outputs.Length; o++)
            copies[n + o] = outputs[o] is { } b ? host.Allocate(b.Length) : null;
        foreach (var (input, output) in inPlace ?? [])
            copies[n + output] = copies[input];
        operation(host, copies);
        for (int o = 0; o < outputs.Length; o++)
        {
            if (outputs[o] is { } target)
                Upload(host.ToArray(copies[n + o]!), target);
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (_disposed)
            return;
        _disposed = true;
        _rows?.Dispose();
        _dummy.Dispose();
        foreach (var kernel in _kernels.Values)
            _cl.ReleaseKernel(kernel);
        foreach (var program in _programs.Values)
            _cl.ReleaseProgram(program);
        _cl.ReleaseCommandQueue(_queue);
        _cl.ReleaseContext(_context);
        base.Dispose(disposing);
    }
}
