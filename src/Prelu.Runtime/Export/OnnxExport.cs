using System.Globalization;
using Google.Protobuf;
using Onnx;
using Prelu.Kernels;

namespace Prelu;

/// <summary>
/// Writes a model, with its trained weights and state, as an ONNX file (opset 17) that ONNX Runtime, ML.NET and every
/// ONNX engine run: the graph rebuilt from the layers' configurations (<see cref="CompiledModel.Layers"/>), the weights
/// from the model's arenas, the ONNX types from the schema's package (OnnxSharp over Google.Protobuf). The file computes
/// what <see cref="CompiledModel.Predict(ReadOnlySpan{float}, Span{float})"/> does: its input is the model's, NHWC, with
/// a batch axis of any size; its output the predictions (class probabilities, sigmoids, or the outputs).
/// </summary>
/// <remarks>
/// ONNX's convolutions and poolings read NCHW, so a map is transposed once after the input and back before a Flatten
/// (Keras flattens NHWC) or the output; kernels are permuted to ONNX's (out, in, height, width), PReLU's alphas to
/// (channels, height, width). Keras's 'same' padding becomes explicit pads, the extra one after, as TensorFlow pads.
/// Dropout is left out; BatchNormalization is its inference form, with the moving statistics.
/// </remarks>
public static class OnnxExport
{
    /// <summary>The ONNX operator set the files use.</summary>
    public const int Opset = 17;

    /// <summary>
    /// Writes <paramref name="model"/> to <paramref name="path"/>, atomically (a temporary file renamed into place: a
    /// failure leaves no half-written file). Refuses a model whose weights were never set (neither initialised nor
    /// loaded) and one holding a NaN or an infinity, naming the tensor.
    /// </summary>
    public static void Save(CompiledModel model, string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var bytes = ToBytes(model);
        string full = Path.GetFullPath(path);
        string temporary = full + ".tmp";
        try
        {
            File.WriteAllBytes(temporary, bytes);
            File.Move(temporary, full, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            if (File.Exists(temporary))
                File.Delete(temporary);
            throw new IOException($"{full}: the ONNX file cannot be written: {e.Message}", e);
        }
    }

    /// <summary>The ONNX file <see cref="Save"/> writes, as bytes.</summary>
    public static byte[] ToBytes(CompiledModel model) => Build(model).ToByteArray();

    /// <summary>The model as an ONNX <see cref="ModelProto"/>, for whoever wants to look at or change it before writing.</summary>
    public static ModelProto Build(CompiledModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        model.ThrowIfUnusable();
        if (!model.HasWeights)
            throw new InvalidOperationException($"{model.Name} has no weights yet: call Initialize, Checkpoint.Load or Fit before exporting it");
        var graph = new GraphBuilder(model);
        return new ModelProto
        {
            IrVersion = 8,
            ProducerName = "Prelu",
            ProducerVersion = typeof(OnnxExport).Assembly.GetName().Version?.ToString(3) ?? "",
            DocString = $"{model.Name}, exported by Prelu: input (batch, {string.Join(", ", model.InputShape)}) as the model takes it (NHWC for images)",
            Graph = graph.Build(),
            OpsetImport = { new OperatorSetIdProto { Domain = "", Version = Opset } },
        };
    }

    // A tensor of the graph as a layer's output: its ONNX name and whether it is a map held as NCHW.
    private readonly record struct Value(string Name, bool Map);

    private sealed class GraphBuilder(CompiledModel model)
    {
        private readonly GraphProto _graph = new() { Name = model.Name };
        private readonly Dictionary<string, Value> _outputs = [];

        public GraphProto Build()
        {
            var input = model.InputShape;
            _graph.Input.Add(TensorInfo(LayerDefaults.ModelInput, input));
            bool map = input.Count == 3;
            _outputs[LayerDefaults.ModelInput] = map
                ? new Value(Node("Transpose", $"{LayerDefaults.ModelInput}/nchw", [LayerDefaults.ModelInput], Ints("perm", 0, 3, 1, 2)), true)
                : new Value(LayerDefaults.ModelInput, false);
            foreach (var layer in model.Layers)
                _outputs[layer.Name] = Layer(layer);

            var last = model.Layers[^1];
            var output = _outputs[last.Name];
            string name = output.Map ? Node("Transpose", $"{last.Name}/nhwc", [output.Name], Ints("perm", 0, 2, 3, 1)) : output.Name;
            _graph.Node.Add(new NodeProto { OpType = "Identity", Name = "predictions", Input = { name }, Output = { "predictions" } });
            _graph.Output.Add(TensorInfo("predictions", last.OutputShape));
            return _graph;
        }

        private Value Layer(LayerConfig layer)
        {
            var inputs = layer.Inputs.Select(i => _outputs[i]).ToArray();
            var x = inputs[0];
            string n = layer.Name;
            switch (layer.Type)
            {
                case "Conv2D":
                case "DepthwiseConv2D":
                    return Activation(layer, new Value(Convolution(layer, x, depthwise: layer.Type == "DepthwiseConv2D"), true), layer["activation"]!);
                case "Dense":
                {
                    var w = Weight($"{n}.kernel", model.GetParameter($"{n}.kernel"), [.. Shape(layer.Inputs[0]), layer.OutputShape[0]]);
                    string z = layer.Flag("use_bias")
                        ? Node("Gemm", $"{n}/dense", [x.Name, w, Weight($"{n}.bias", model.GetParameter($"{n}.bias"), [layer.OutputShape[0]])])
                        : Node("MatMul", $"{n}/dense", [x.Name, w]);
                    return Activation(layer, new Value(z, false), layer["activation"]!);
                }
                case "MaxPooling2D":
                case "AveragePooling2D":
                {
                    var size = layer.Ints("pool_size");
                    var strides = layer.Ints("strides");
                    var pads = Pads(Shape(layer.Inputs[0]), size, strides, layer["padding"]!);
                    return new Value(Node(layer.Type == "MaxPooling2D" ? "MaxPool" : "AveragePool", n, [x.Name],
                        Ints("kernel_shape", size), Ints("strides", strides), Ints("pads", pads)), true);
                }
                case "GlobalAveragePooling2D":
                case "GlobalMaxPooling2D":
                {
                    string pooled = Node(layer.Type == "GlobalAveragePooling2D" ? "GlobalAveragePool" : "GlobalMaxPool", $"{n}/pool", [x.Name]);
                    return new Value(Node("Flatten", n, [pooled], Int("axis", 1)), false);
                }
                case "BatchNormalization":
                {
                    int channels = layer.OutputShape[^1];
                    var scale = layer.Flag("scale") ? model.GetParameter($"{n}.gamma") : Filled(channels, 1f);
                    var offset = layer.Flag("center") ? model.GetParameter($"{n}.beta") : Filled(channels, 0f);
                    return new Value(Node("BatchNormalization", n,
                        [x.Name, Weight($"{n}.gamma", scale, [channels]), Weight($"{n}.beta", offset, [channels]),
                            Weight($"{n}.moving_mean", model.GetParameter($"{n}.moving_mean"), [channels]),
                            Weight($"{n}.moving_variance", model.GetParameter($"{n}.moving_variance"), [channels])],
                        Float("epsilon", (float)layer.Number("epsilon"))), x.Map);
                }
                case "Normalization":
                {
                    // What the model computes: (x - mean) / sqrt(variance + 1e-14), BatchNormalization's inference form without scale or offset.
                    int features = layer.OutputShape[^1];
                    return new Value(Node("BatchNormalization", n,
                        [x.Name, Weight($"{n}/scale", Filled(features, 1f), [features]), Weight($"{n}/offset", Filled(features, 0f), [features]),
                            Weight($"{n}.mean", model.GetParameter($"{n}.mean"), [features]),
                            Weight($"{n}.variance", model.GetParameter($"{n}.variance"), [features])],
                        Float("epsilon", NormalizationEpsilon)), x.Map);
                }
                case "Dropout":
                    return x; // inference: the identity
                case "Flatten":
                    return x.Map
                        ? new Value(Node("Flatten", n, [Node("Transpose", $"{n}/nhwc", [x.Name], Ints("perm", 0, 2, 3, 1))], Int("axis", 1)), false)
                        : x;
                case "PReLU":
                {
                    var shape = Shape(layer.Inputs[0]);
                    var shared = layer.Ints("shared_axes");
                    int[] alphaShape = shape.Select((size, axis) => shared.Contains(axis + 1) ? 1 : size).ToArray();
                    var alphas = model.GetParameter($"{n}.alpha");
                    // Keras's (height, width, channels) alphas to (channels, height, width), which broadcasts over NCHW.
                    var slope = x.Map ? Weight($"{n}.alpha", ToChannelsFirst(alphas, alphaShape), [alphaShape[2], alphaShape[0], alphaShape[1]])
                        : Weight($"{n}.alpha", alphas, alphaShape);
                    return new Value(Node("PRelu", n, [x.Name, slope]), x.Map);
                }
                case "ReLU":
                case "LeakyReLU":
                case "ELU":
                case "Activation":
                    return Activation(layer, x, layer["activation"]!, layer["alpha"] is { } alpha ? double.Parse(alpha, CultureInfo.InvariantCulture) : null, n);
                case "Add":
                    return new Value(Node("Sum", n, inputs.Select(i => i.Name).ToArray()), x.Map);
                case "Average":
                    return new Value(Node("Mean", n, inputs.Select(i => i.Name).ToArray()), x.Map);
                case "Maximum":
                    return new Value(Node("Max", n, inputs.Select(i => i.Name).ToArray()), x.Map);
                case "Multiply":
                {
                    // In the inputs' order, as the model multiplies: ((x0 * x1) * x2) ...
                    string product = inputs[0].Name;
                    for (int i = 1; i < inputs.Length; i++)
                        product = Node("Mul", i == inputs.Length - 1 ? n : $"{n}/{i}", [product, inputs[i].Name]);
                    return new Value(product, x.Map);
                }
                case "Concatenate":
                {
                    int rank = layer.OutputShape.Count;
                    int axis = (int)layer.Number("axis");
                    axis = axis < 0 ? rank + 1 + axis : axis; // Keras's, the batch being axis 0
                    int onnxAxis = x.Map ? axis switch { 1 => 2, 2 => 3, _ => 1 } : axis; // NHWC's height, width, channels in NCHW
                    return new Value(Node("Concat", n, inputs.Select(i => i.Name).ToArray(), Int("axis", onnxAxis)), x.Map);
                }
                default:
                    throw new NotSupportedException($"{model.Name}: layer {n} is a {layer.Type}, which the ONNX exporter does not know");
            }
        }

        // The 1e-14 the model's Normalization layer adds to the variance (see CompiledModel.Adapt).
        private const float NormalizationEpsilon = 1e-14f;

        private string Convolution(LayerConfig layer, Value x, bool depthwise)
        {
            string n = layer.Name;
            var input = Shape(layer.Inputs[0]);
            var size = layer.Ints("kernel_size");
            var strides = layer.Ints("strides");
            int channels = input[2], outChannels = layer.OutputShape[2];
            string role = depthwise ? "depthwise_kernel" : "kernel";
            var kernel = model.GetParameter($"{n}.{role}");
            // Keras stores (KH, KW, Cin, Cout), or a depthwise kernel (KH, KW, C, M); ONNX reads (Cout, Cin, KH, KW), or (C M, 1, KH, KW)
            // with output channel c M + m.
            int kh = size[0], kw = size[1], taps = kh * kw, inner = outChannels / (depthwise ? channels : 1), perGroup = depthwise ? 1 : channels;
            var weights = new float[kernel.Length];
            for (int p = 0; p < taps; p++)
            {
                for (int c = 0; c < channels; c++)
                {
                    for (int o = 0; o < inner; o++)
                        weights[(depthwise ? c * inner + o : o * channels + c) * taps + p] = kernel[(p * channels + c) * inner + o];
                }
            }
            var operands = new List<string> { x.Name, Weight($"{n}.{role}", weights, [outChannels, perGroup, kh, kw], $"{n}.{role}", kernel) };
            if (layer.Flag("use_bias"))
                operands.Add(Weight($"{n}.bias", model.GetParameter($"{n}.bias"), [outChannels]));
            var pads = Pads(input, size, strides, layer["padding"]!);
            return Node("Conv", $"{n}/conv", [.. operands], Ints("kernel_shape", size), Ints("strides", strides), Ints("pads", pads),
                Int("group", depthwise ? channels : 1));
        }

        // Keras's padding of a window over (height, width): [top, left, bottom, right], the extra one after, as TensorFlow pads.
        private static long[] Pads(IReadOnlyList<int> input, int[] window, int[] strides, string padding)
        {
            var mode = padding == "same" ? Padding.Same : Padding.Valid;
            var (outHeight, top) = SpatialAxis.Resolve(input[0], window[0], strides[0], mode);
            var (outWidth, left) = SpatialAxis.Resolve(input[1], window[1], strides[1], mode);
            int bottom = mode == Padding.Same ? Math.Max((outHeight - 1) * strides[0] + window[0] - input[0], 0) - top : 0;
            int right = mode == Padding.Same ? Math.Max((outWidth - 1) * strides[1] + window[1] - input[1], 0) - left : 0;
            return [top, left, bottom, right];
        }

        // An activation by Keras's name, with its constant where it has one (LeakyReLU's slope, ELU's alpha).
        private Value Activation(LayerConfig layer, Value x, string activation, double? constant = null, string? output = null)
        {
            string n = output ?? $"{layer.Name}/{activation}";
            string Op(string type, params AttributeProto[] attributes) => Node(type, output ?? layer.Name, [x.Name], attributes);
            switch (activation)
            {
                case "linear":
                    return output is null ? new Value(x.Name, x.Map) : new Value(Node("Identity", n, [x.Name]), x.Map);
                case "relu":
                    return new Value(Op("Relu"), x.Map);
                case "sigmoid":
                    return new Value(Op("Sigmoid"), x.Map);
                case "tanh":
                    return new Value(Op("Tanh"), x.Map);
                case "softplus":
                    return new Value(Op("Softplus"), x.Map);
                case "selu":
                    return new Value(Op("Selu"), x.Map); // ONNX's default alpha and gamma are Keras's constants
                case "elu":
                    return new Value(Op("Elu", Float("alpha", (float)(constant ?? LayerDefaults.EluAlpha))), x.Map);
                case "leaky_relu":
                    return new Value(Op("LeakyRelu", Float("alpha", (float)(constant ?? LayerDefaults.LeakyReluActivationSlope))), x.Map);
                case "softmax":
                    return new Value(Op("Softmax", Int("axis", x.Map ? 1 : -1)), x.Map);
                case "swish":
                case "silu":
                {
                    string sigmoid = Node("Sigmoid", $"{layer.Name}/sigmoid", [x.Name]);
                    return new Value(Node("Mul", output ?? layer.Name, [x.Name, sigmoid]), x.Map);
                }
                case "gelu":
                {
                    // Exact GELU: x * (1 + erf(x / sqrt 2)) / 2; opset 17 has no Gelu.
                    string scaled = Node("Mul", $"{layer.Name}/scaled", [x.Name, Scalar($"{layer.Name}/one_over_sqrt2", (float)(1 / Math.Sqrt(2)))]);
                    string erf = Node("Erf", $"{layer.Name}/erf", [scaled]);
                    string plusOne = Node("Add", $"{layer.Name}/plus_one", [erf, Scalar($"{layer.Name}/one", 1f)]);
                    string half = Node("Mul", $"{layer.Name}/half", [x.Name, Scalar($"{layer.Name}/half_constant", 0.5f)]);
                    return new Value(Node("Mul", output ?? layer.Name, [half, plusOne]), x.Map);
                }
                default:
                    throw new NotSupportedException($"{model.Name}: layer {layer.Name}'s activation '{activation}' has no ONNX form here");
            }
        }

        private IReadOnlyList<int> Shape(string layer) => layer == LayerDefaults.ModelInput
            ? model.InputShape
            : model.Layers.First(l => l.Name == layer).OutputShape;

        private static float[] ToChannelsFirst(float[] values, int[] shape)
        {
            int h = shape[0], w = shape[1], c = shape[2];
            var result = new float[values.Length];
            for (int y = 0; y < h; y++)
            {
                for (int x = 0; x < w; x++)
                {
                    for (int k = 0; k < c; k++)
                        result[(k * h + y) * w + x] = values[(y * w + x) * c + k];
                }
            }
            return result;
        }

        private static float[] Filled(int length, float value) => Enumerable.Repeat(value, length).ToArray();

        private string Node(string type, string output, string[] inputs, params AttributeProto[] attributes)
        {
            var node = new NodeProto { OpType = type, Name = output, Output = { output } };
            node.Input.AddRange(inputs);
            node.Attribute.AddRange(attributes);
            _graph.Node.Add(node);
            return output;
        }

        // An initializer; the values are checked first (the tensor named as the checkpoint names it).
        private string Weight(string name, float[] values, int[] dims, string? checkedName = null, float[]? checkedValues = null)
        {
            var check = checkedValues ?? values;
            for (int i = 0; i < check.Length; i++)
            {
                if (!float.IsFinite(check[i]))
                    throw new InvalidOperationException($"{model.Name}: {checkedName ?? name} holds {check[i]} at element {i}; a model with a NaN or an infinity is not exported");
            }
            var bytes = new byte[values.Length * sizeof(float)];
            Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length); // little-endian, as ONNX's raw data is
            var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(bytes) };
            tensor.Dims.AddRange(dims.Select(d => (long)d));
            _graph.Initializer.Add(tensor);
            return name;
        }

        private string Scalar(string name, float value) => Weight(name, [value], []);

        private static ValueInfoProto TensorInfo(string name, IReadOnlyList<int> sample)
        {
            var shape = new TensorShapeProto();
            shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "batch" });
            foreach (int size in sample)
                shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = size });
            return new ValueInfoProto
            {
                Name = name,
                Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } },
            };
        }

        private static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

        private static AttributeProto Float(string name, float value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

        private static AttributeProto Ints(string name, params long[] values)
        {
            var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
            attribute.Ints.AddRange(values);
            return attribute;
        }

        private static AttributeProto Ints(string name, int[] values) => Ints(name, values.Select(v => (long)v).ToArray());
    }
}
