using Google.Protobuf;
using M3.Core.Onnx.Proto;
using DataType = M3.Core.Onnx.Proto.TensorProto.Types.DataType;

namespace M3.Core.Onnx;

// The extra ONNX operators that backward passes (Autodiff) need, with their shape rules, and in-memory models.
public sealed partial class GraphBuilder
{
    /// <summary>A scalar constant of <paramref name="type"/> (float or double), shared between uses: backward graphs are built for either.</summary>
    public GraphValue Scalar(double value, DataType type)
    {
        if (type == DataType.Float) return Scalar((float)value);
        RequireType(new GraphValue("scalar", type, []), "Scalar", DataType.Double);
        var key = "f64:" + BitConverter.DoubleToInt64Bits(value);
        if (_constants.TryGetValue(key, out var v)) return v;
        v = Initializer(Fresh("const_f64"), DataType.Double, BitConverter.GetBytes(value));
        _constants[key] = v;
        return v;
    }

    public GraphValue Exp(GraphValue x) => Node("Exp", [x], x.Type, x.Shape);
    public GraphValue Sqrt(GraphValue x) => Node("Sqrt", [x], x.Type, x.Shape);
    public GraphValue Neg(GraphValue x) => Node("Neg", [x], x.Type, x.Shape);
    public GraphValue Greater(GraphValue a, GraphValue b) => Compare("Greater", a, b);

    /// <summary>Elementwise choice: <paramref name="condition"/> ? a : b, with broadcasting.</summary>
    public GraphValue Where(GraphValue condition, GraphValue a, GraphValue b)
    {
        RequireType(condition, "Where condition", DataType.Bool);
        if (a.Type != b.Type) throw ShapeError("Where", a, b);
        var ab = Broadcast("Where", a.Shape, b.Shape, a, b);
        return Node("Where", [condition, a, b], a.Type, Broadcast("Where", condition.Shape, ab, condition, a));
    }

    /// <summary>
    /// ONNX Gemm on 2-D a and b: op(a)·op(b) (+ c), op = transpose when asked. Lets PyTorch's [out, in] Linear weights be used
    /// as they are stored: forward x·Wᵀ (transB), input gradient dy·W, weight gradient dyᵀ·x (transA) in the same layout.
    /// </summary>
    public GraphValue Gemm(GraphValue a, GraphValue b, GraphValue? c = null, bool transA = false, bool transB = false)
    {
        if (a.Rank != 2 || b.Rank != 2) throw ShapeError("Gemm", a, b);
        Dim m = transA ? a.Shape[1] : a.Shape[0], k1 = transA ? a.Shape[0] : a.Shape[1];
        Dim k2 = transB ? b.Shape[1] : b.Shape[0], n = transB ? b.Shape[0] : b.Shape[1];
        if (k1.IsFixed && k2.IsFixed && k1.Value != k2.Value) throw ShapeError("Gemm", a, b);
        GraphValue[] inputs = c == null ? [a, b] : [a, b, c];
        return Node("Gemm", inputs, a.Type, [m, n], [Int("transA", transA ? 1 : 0), Int("transB", transB ? 1 : 0)]);
    }

    /// <summary>Sum over <paramref name="axes"/> (non-negative), which are dropped unless <paramref name="keepDims"/>.</summary>
    public GraphValue ReduceSum(GraphValue x, long[] axes, bool keepDims)
    {
        var shape = new List<Dim>();
        for (int i = 0; i < x.Rank; i++)
            if (!axes.Contains(i)) shape.Add(x.Shape[i]);
            else if (keepDims) shape.Add(1);
        return Node("ReduceSum", [x, Int64s(axes)], x.Type, [.. shape], [Int("keepdims", keepDims ? 1 : 0)]);
    }

    /// <summary>Mean over the last axis, kept as a size-1 axis.</summary>
    public GraphValue ReduceMeanLastAxis(GraphValue x)
    {
        var shape = (Dim[])x.Shape.Clone();
        shape[^1] = 1;
        return Node("ReduceMean", [x], x.Type, shape, [Ints("axes", [-1]), Int("keepdims", 1)]);
    }

    /// <summary>Zero padding: <paramref name="pads"/> is the int64 vector [begin₀…, end₀…] (ONNX Pad), computed at run time; <paramref name="shape"/> is the caller's shape rule.</summary>
    public GraphValue Pad(GraphValue x, GraphValue pads, params Dim[] shape)
    {
        RequireType(pads, "Pad pads", DataType.Int64);
        if (shape.Length != x.Rank) throw new ArgumentException($"Pad: shape of rank {shape.Length} for {x}");
        return Node("Pad", [x, pads], x.Type, shape);
    }

    /// <summary>The finished model as bytes, for a session built in memory (graphs whose weights are inputs, not initializers).</summary>
    public byte[] ToModelBytes()
    {
        if (_external != null) throw new InvalidOperationException("a graph with external data must be saved to a file");
        return BuildModel(null).ToByteArray();
    }
}
