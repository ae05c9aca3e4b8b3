using System.Runtime.InteropServices;
using Google.Protobuf;
using M3.Core.Onnx.Proto;
using DataType = M3.Core.Onnx.Proto.TensorProto.Types.DataType;

namespace M3.Core.Onnx;

/// <summary>
/// Builds an ONNX graph op by op. Every value carries its element type and shape, computed by the op helpers
/// (see GraphBuilder.Ops.cs), so a wrong wiring fails while building, with the op and shapes named, not inside ONNX Runtime.
/// </summary>
internal sealed partial class GraphBuilder : IDisposable
{
    public const int Opset = 17;
    public const int MicrosoftOpset = 1;
    // Initializers larger than this go to the external data file; small constants stay inline.
    private const int InlineLimitBytes = 1024;

    private readonly GraphProto _graph = new() { Name = "m3" };
    // Where nodes go: the main graph, or the branch of an If being built. Initializers always go to the main graph,
    // which branches see as outer scope.
    private GraphProto _current;
    private readonly ExternalDataWriter? _external;
    private readonly HashSet<string> _names = [];
    private readonly Dictionary<string, GraphValue> _constants = [];
    private readonly SortedSet<string> _domains = new(StringComparer.Ordinal);
    private int _counter;

    /// <param name="externalDataPath">File for large initializers, or null to keep every initializer inline (small graphs only).</param>
    public GraphBuilder(string? externalDataPath = null)
    {
        if (externalDataPath != null) _external = new ExternalDataWriter(externalDataPath);
        _current = _graph;
    }

    public GraphValue Input(string name, DataType type, params Dim[] shape)
    {
        var value = Declare(name, type, shape);
        _graph.Input.Add(ValueInfo(value));
        return value;
    }

    public void Output(GraphValue value, string name)
    {
        var named = value.Name == name ? value : Identity(value, name);
        _graph.Output.Add(ValueInfo(named));
    }

    /// <summary>A float32 initializer (weights); large ones are written to the external data file as they come, so no copy of all weights is held.</summary>
    public GraphValue Initializer(string name, ReadOnlySpan<float> data, params int[] shape) =>
        Initializer(name, DataType.Float, MemoryMarshal.AsBytes(data), shape);

    public GraphValue Initializer(string name, DataType type, ReadOnlySpan<byte> bytes, params int[] shape)
    {
        long count = 1;
        foreach (var d in shape) count *= d;
        if (count * ElementSize(type) != bytes.Length)
            throw new ArgumentException($"initializer {name}: {bytes.Length} bytes for shape [{string.Join(",", shape)}] of {type}");
        var value = Declare(name, type, shape.Select(d => (Dim)d).ToArray());
        var tensor = new TensorProto { Name = name, DataType = (int)type };
        tensor.Dims.AddRange(shape.Select(d => (long)d));
        if (_external != null && bytes.Length > InlineLimitBytes) _external.Write(tensor, bytes);
        else tensor.RawData = ByteString.CopyFrom(bytes);
        _graph.Initializer.Add(tensor);
        return value;
    }

    /// <summary>An int64 constant vector (shapes, axes), shared between uses.</summary>
    public GraphValue Int64s(params long[] values)
    {
        var key = "i64:" + string.Join(",", values);
        if (_constants.TryGetValue(key, out var v)) return v;
        v = Initializer(Fresh("const_i64"), DataType.Int64, MemoryMarshal.AsBytes<long>(values), values.Length);
        _constants[key] = v;
        return v;
    }

    /// <summary>A float32 scalar constant, shared between uses.</summary>
    public GraphValue Scalar(float value)
    {
        var key = "f32:" + BitConverter.SingleToInt32Bits(value);
        if (_constants.TryGetValue(key, out var v)) return v;
        v = Initializer(Fresh("const_f32"), DataType.Float, MemoryMarshal.AsBytes(new ReadOnlySpan<float>(in value)));
        _constants[key] = v;
        return v;
    }

    /// <summary>Adds a node with one output whose type and shape the caller computed.</summary>
    public GraphValue Node(string opType, GraphValue[] inputs, DataType outType, Dim[] outShape,
                           IEnumerable<AttributeProto>? attributes = null, string? domain = null, string? outputName = null)
    {
        var output = Declare(outputName ?? Fresh(opType), outType, outShape);
        var node = new NodeProto { OpType = opType, Name = output.Name + "_node" };
        node.Input.AddRange(inputs.Select(i => i.Name));
        node.Output.Add(output.Name);
        if (attributes != null) node.Attribute.AddRange(attributes);
        if (domain != null)
        {
            node.Domain = domain;
            _domains.Add(domain);
        }
        _current.Node.Add(node);
        _current.ValueInfo.Add(ValueInfo(output));
        return output;
    }

    /// <summary>
    /// ONNX If: runs one branch or the other at run time. Each branch builds its nodes into its own subgraph (reading any value
    /// of the enclosing graph) and returns its result; both results must have the element type and rank of <paramref name="shape"/>.
    /// </summary>
    public GraphValue If(GraphValue condition, Dim[] shape, Func<GraphValue> thenBranch, Func<GraphValue> elseBranch)
    {
        RequireType(condition, "If condition", DataType.Bool);
        var output = Declare(Fresh("If"), DataType.Undefined, shape);
        var branches = new[] { ("then_branch", thenBranch), ("else_branch", elseBranch) }.Select(b =>
        {
            var outer = _current;
            var sub = new GraphProto { Name = $"{output.Name}_{b.Item1}" };
            _current = sub;
            try
            {
                var result = b.Item2();
                // A branch output must be produced inside the branch.
                if (!sub.Node.Any(n => n.Output.Contains(result.Name))) result = Identity(result);
                if (result.Rank != shape.Length) throw new ArgumentException($"If {b.Item1}: result {result} does not have rank {shape.Length}");
                sub.Output.Add(ValueInfo(result));
                return (b.Item1, sub, result.Type);
            }
            finally { _current = outer; }
        }).ToArray();
        if (branches[0].Type != branches[1].Type) throw new ArgumentException($"If: branches give {branches[0].Type} and {branches[1].Type}");
        output = output with { Type = branches[0].Type };
        var node = new NodeProto { OpType = "If", Name = output.Name + "_node" };
        node.Input.Add(condition.Name);
        node.Output.Add(output.Name);
        foreach (var (name, sub, _) in branches)
            node.Attribute.Add(new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Graph, G = sub });
        _current.Node.Add(node);
        _current.ValueInfo.Add(ValueInfo(output));
        return output;
    }

    /// <summary>Finishes the graph and writes model.onnx (the external data file was written along the way).</summary>
    public void Save(string modelPath, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var model = BuildModel(metadata);
        using var file = File.Create(modelPath);
        model.WriteTo(file);
    }

    private ModelProto BuildModel(IReadOnlyDictionary<string, string>? metadata)
    {
        var model = new ModelProto
        {
            IrVersion = 8,
            ProducerName = "M3Sharp",
            ProducerVersion = typeof(GraphBuilder).Assembly.GetName().Version?.ToString() ?? "0",
            Graph = _graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        // com.microsoft and M3Sharp's own domain (NativeOps) are both at version 1.
        foreach (var domain in _domains) model.OpsetImport.Add(new OperatorSetIdProto { Domain = domain, Version = MicrosoftOpset });
        if (metadata != null)
            foreach (var (k, v) in metadata) model.MetadataProps.Add(new StringStringEntryProto { Key = k, Value = v });
        return model;
    }

    public void Dispose() => _external?.Dispose();

    private GraphValue Declare(string name, DataType type, Dim[] shape)
    {
        if (!_names.Add(name)) throw new ArgumentException($"graph value '{name}' is defined twice");
        return new GraphValue(name, type, shape);
    }

    private string Fresh(string prefix) => $"{prefix}_{_counter++}";

    private static ValueInfoProto ValueInfo(GraphValue value)
    {
        var shape = new TensorShapeProto();
        foreach (var d in value.Shape)
            shape.Dim.Add(d.IsFixed ? new TensorShapeProto.Types.Dimension { DimValue = d.Value } : new TensorShapeProto.Types.Dimension { DimParam = d.Symbol });
        return new ValueInfoProto
        {
            Name = value.Name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)value.Type, Shape = shape } },
        };
    }

    internal static int ElementSize(DataType type) => type switch
    {
        DataType.Float or DataType.Int32 => 4,
        DataType.Int64 or DataType.Double => 8,
        DataType.Float16 or DataType.Bfloat16 or DataType.Int16 or DataType.Uint16 => 2,
        DataType.Int8 or DataType.Uint8 or DataType.Bool => 1,
        _ => throw new NotSupportedException($"element type {type}"),
    };
}
