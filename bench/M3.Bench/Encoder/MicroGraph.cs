using Google.Protobuf;

namespace M3.Bench.Encoder;

/// <summary>
/// A one-node-at-a-time ONNX model for kernel measurements (a MatMul ceiling, int8 kernel choices), written straight to
/// protobuf wire format with Google.Protobuf's CodedOutputStream. The bench needs only a handful of graph features
/// (nodes, attributes, raw initializers, float inputs/outputs with symbolic dims), so it does not pull in the encoder's builder.
/// </summary>
internal sealed class MicroGraph
{
    private readonly List<byte[]> _nodes = [], _initializers = [], _inputs = [], _outputs = [];

    public const int Float = 1, UInt8 = 2, Int8 = 3;

    public MicroGraph Input(string name, params object[] dims)
    {
        _inputs.Add(ValueInfo(name, dims));
        return this;
    }

    public MicroGraph Output(string name, params object[] dims)
    {
        _outputs.Add(ValueInfo(name, dims));
        return this;
    }

    public MicroGraph Initializer(string name, int dataType, long[] dims, ReadOnlySpan<byte> raw)
    {
        var bytes = raw.ToArray();
        _initializers.Add(Message(o =>
        {
            foreach (var d in dims) { o.WriteTag(1, WireFormat.WireType.Varint); o.WriteInt64(d); }
            o.WriteTag(2, WireFormat.WireType.Varint); o.WriteInt32(dataType);
            o.WriteTag(8, WireFormat.WireType.LengthDelimited); o.WriteString(name);
            o.WriteTag(9, WireFormat.WireType.LengthDelimited); o.WriteBytes(ByteString.CopyFrom(bytes));
        }));
        return this;
    }

    public MicroGraph Initializer(string name, long[] dims, ReadOnlySpan<float> values) =>
        Initializer(name, Float, dims, System.Runtime.InteropServices.MemoryMarshal.AsBytes(values));

    /// <summary>Adds a node; integer attributes only (all the kernels measured here need).</summary>
    public MicroGraph Node(string op, string[] inputs, string[] outputs, string domain = "", params (string Name, long Value)[] attributes)
    {
        _nodes.Add(Message(o =>
        {
            foreach (var i in inputs) { o.WriteTag(1, WireFormat.WireType.LengthDelimited); o.WriteString(i); }
            foreach (var x in outputs) { o.WriteTag(2, WireFormat.WireType.LengthDelimited); o.WriteString(x); }
            o.WriteTag(4, WireFormat.WireType.LengthDelimited); o.WriteString(op);
            foreach (var (name, value) in attributes)
            {
                o.WriteTag(5, WireFormat.WireType.LengthDelimited);
                o.WriteBytes(ByteString.CopyFrom(Message(a =>
                {
                    a.WriteTag(1, WireFormat.WireType.LengthDelimited); a.WriteString(name);
                    a.WriteTag(3, WireFormat.WireType.Varint); a.WriteInt64(value);
                    a.WriteTag(20, WireFormat.WireType.Varint); a.WriteInt32(2); // AttributeType INT
                })));
            }
            if (domain.Length > 0) { o.WriteTag(7, WireFormat.WireType.LengthDelimited); o.WriteString(domain); }
        }));
        return this;
    }

    /// <summary>The serialized ModelProto (IR 10, opset 21 and com.microsoft 1).</summary>
    public byte[] ToModel()
    {
        var graph = Message(o =>
        {
            foreach (var n in _nodes) Embedded(o, 1, n);
            o.WriteTag(2, WireFormat.WireType.LengthDelimited); o.WriteString("bench");
            foreach (var i in _initializers) Embedded(o, 5, i);
            foreach (var i in _inputs) Embedded(o, 11, i);
            foreach (var x in _outputs) Embedded(o, 12, x);
        });
        return Message(o =>
        {
            o.WriteTag(1, WireFormat.WireType.Varint); o.WriteInt64(10);
            o.WriteTag(2, WireFormat.WireType.LengthDelimited); o.WriteString("m3sharp-bench");
            Embedded(o, 7, graph);
            Embedded(o, 8, Message(s => { s.WriteTag(2, WireFormat.WireType.Varint); s.WriteInt64(21); }));
            Embedded(o, 8, Message(s =>
            {
                s.WriteTag(1, WireFormat.WireType.LengthDelimited); s.WriteString("com.microsoft");
                s.WriteTag(2, WireFormat.WireType.Varint); s.WriteInt64(1);
            }));
        });
    }

    /// <summary>A float tensor value: dims are ints (fixed) or strings (symbolic).</summary>
    private static byte[] ValueInfo(string name, object[] dims) => Message(o =>
    {
        o.WriteTag(1, WireFormat.WireType.LengthDelimited); o.WriteString(name);
        var shape = Message(s =>
        {
            foreach (var d in dims)
                Embedded(s, 1, Message(x =>
                {
                    if (d is string symbol) { x.WriteTag(2, WireFormat.WireType.LengthDelimited); x.WriteString(symbol); }
                    else { x.WriteTag(1, WireFormat.WireType.Varint); x.WriteInt64(Convert.ToInt64(d)); }
                }));
        });
        var tensor = Message(t =>
        {
            t.WriteTag(1, WireFormat.WireType.Varint); t.WriteInt32(Float);
            Embedded(t, 2, shape);
        });
        Embedded(o, 2, Message(t => Embedded(t, 1, tensor)));
    });

    private static void Embedded(CodedOutputStream o, int field, byte[] message)
    {
        o.WriteTag(field, WireFormat.WireType.LengthDelimited);
        o.WriteBytes(ByteString.CopyFrom(message));
    }

    private static byte[] Message(Action<CodedOutputStream> write)
    {
        using var buffer = new MemoryStream();
        using (var o = new CodedOutputStream(buffer, leaveOpen: true)) write(o);
        return buffer.ToArray();
    }
}
