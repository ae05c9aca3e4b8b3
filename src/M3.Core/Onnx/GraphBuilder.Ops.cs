using M3.Core.Onnx.Proto;
using DataType = M3.Core.Onnx.Proto.TensorProto.Types.DataType;

namespace M3.Core.Onnx;

// The ONNX operators the encoder uses, each with its output shape rule (ONNX opset 17 semantics).
internal sealed partial class GraphBuilder
{
    public GraphValue Identity(GraphValue x, string? name = null) => Node("Identity", [x], x.Type, x.Shape, outputName: name);

    public GraphValue Add(GraphValue a, GraphValue b) => Elementwise("Add", a, b);
    public GraphValue Sub(GraphValue a, GraphValue b) => Elementwise("Sub", a, b);
    public GraphValue Mul(GraphValue a, GraphValue b) => Elementwise("Mul", a, b);
    public GraphValue Div(GraphValue a, GraphValue b) => Elementwise("Div", a, b);
    public GraphValue Max(GraphValue a, GraphValue b) => Elementwise("Max", a, b);

    /// <summary>a + b as the variadic Sum operator: same result as Add, but not matched by fusions that look for Add.</summary>
    public GraphValue Sum(GraphValue a, GraphValue b) => Elementwise("Sum", a, b);

    public GraphValue Erf(GraphValue x) => Node("Erf", [x], x.Type, x.Shape);
    public GraphValue Relu(GraphValue x) => Node("Relu", [x], x.Type, x.Shape);
    public GraphValue Softmax(GraphValue x, int axis = -1) => Node("Softmax", [x], x.Type, x.Shape, [Int("axis", axis)]);
    public GraphValue Cast(GraphValue x, DataType to) => Node("Cast", [x], to, x.Shape, [Int("to", (long)to)]);
    public GraphValue CumSum(GraphValue x, int axis) => Node("CumSum", [x, Int64Scalar(axis)], x.Type, x.Shape);

    /// <summary>Gather rows of <paramref name="data"/> along axis 0: shape = indices.shape + data.shape[1..].</summary>
    public GraphValue Gather(GraphValue data, GraphValue indices)
    {
        RequireType(indices, "Gather indices", DataType.Int64, DataType.Int32);
        return Node("Gather", [data, indices], data.Type, [.. indices.Shape, .. data.Shape[1..]], [Int("axis", 0)]);
    }

    /// <summary>Selects index <paramref name="index"/> along <paramref name="axis"/>, dropping that axis.</summary>
    public GraphValue GatherIndex(GraphValue data, int axis, long index)
    {
        var shape = data.Shape.Where((_, i) => i != axis).ToArray();
        return Node("Gather", [data, Int64Scalar(index)], data.Type, shape, [Int("axis", axis)]);
    }

    public GraphValue MatMul(GraphValue a, GraphValue b)
    {
        if (a.Rank < 2 || b.Rank < 2) throw ShapeError("MatMul", a, b);
        var k1 = a.Shape[^1]; var k2 = b.Shape[^2];
        if (k1.IsFixed && k2.IsFixed && k1.Value != k2.Value) throw ShapeError("MatMul", a, b);
        var batch = Broadcast("MatMul", a.Shape[..^2], b.Shape[..^2], a, b);
        return Node("MatMul", [a, b], a.Type, [.. batch, a.Shape[^2], b.Shape[^1]]);
    }

    /// <summary>x · Wᵀ + b with W stored as ONNX wants it ([in, out], i.e. PyTorch's Linear weight transposed).</summary>
    public GraphValue Linear(GraphValue x, GraphValue weightInOut, GraphValue bias) => Add(MatMul(x, weightInOut), bias);

    /// <summary>
    /// com.microsoft DynamicQuantizeMatMul: x (float) quantized per tensor to uint8 at run time, times int8 weights [in, out]
    /// with one scale and zero point per output column, plus a float bias — ONNX Runtime's VNNI-backed int8 kernel.
    /// </summary>
    public GraphValue DynamicQuantizeMatMul(GraphValue x, GraphValue weightInOut, GraphValue scale, GraphValue zeroPoint, GraphValue bias)
    {
        RequireType(weightInOut, "DynamicQuantizeMatMul weight", DataType.Int8, DataType.Uint8);
        if (x.Rank < 2 || weightInOut.Rank != 2 || !Same(x.Shape[^1], weightInOut.Shape[0])) throw ShapeError("DynamicQuantizeMatMul", x, weightInOut);
        var n = weightInOut.Shape[1];
        foreach (var v in new[] { scale, zeroPoint, bias })
            if (v.Rank != 1 || !Same(v.Shape[0], n)) throw ShapeError("DynamicQuantizeMatMul", weightInOut, v);
        return Node("DynamicQuantizeMatMul", [x, weightInOut, scale, zeroPoint, bias], x.Type, [.. x.Shape[..^1], n], domain: "com.microsoft");
    }

    /// <summary>
    /// com.microsoft MultiHeadAttention on projected q, k, v [batch, seq, hidden], no key padding: softmax(q·kᵀ/√d)·v per
    /// head in one kernel, without the reshapes, transposes and score tensors of the op-by-op form. Without a mask ONNX
    /// Runtime takes its flash-attention kernel; padded batches are attended text by text (<see cref="Packing"/>).
    /// </summary>
    public GraphValue MultiHeadAttention(GraphValue q, GraphValue k, GraphValue v, long heads)
    {
        if (q.Rank != 3 || !q.Shape.SequenceEqual(k.Shape, DimComparer) || !q.Shape.SequenceEqual(v.Shape, DimComparer)) throw ShapeError("MultiHeadAttention", q, k);
        if (!q.Shape[2].IsFixed || q.Shape[2].Value % heads != 0) throw new ArgumentException($"MultiHeadAttention: hidden size of {q} is not divisible by {heads} heads");
        return Node("MultiHeadAttention", [q, k, v], q.Type, q.Shape, [Int("num_heads", heads)], domain: "com.microsoft");
    }

    /// <summary>
    /// M3Sharp's PackedInt8Attention (<see cref="NativeOps"/>): self-attention of each text on packed [1, tokens, 3·hidden]
    /// Q|K|V rows, text t being rows [textEnds[t−1], textEnds[t]), with int8 products; packed [1, tokens, hidden] out.
    /// </summary>
    public GraphValue PackedInt8Attention(GraphValue qkv, GraphValue textEnds, long heads)
    {
        RequireType(textEnds, "PackedInt8Attention text ends", DataType.Int64);
        if (qkv.Rank != 3 || !qkv.Shape[2].IsFixed || qkv.Shape[2].Value % (3 * heads) != 0 || textEnds.Rank != 1) throw ShapeError("PackedInt8Attention", qkv, textEnds);
        return Node("PackedInt8Attention", [qkv, textEnds], qkv.Type, [qkv.Shape[0], qkv.Shape[1], qkv.Shape[2].Value / 3], [Int("num_heads", heads)], domain: NativeOps.Domain);
    }

    private static readonly IEqualityComparer<Dim> DimComparer = EqualityComparer<Dim>.Create((a, b) => Same(a, b), d => d.GetHashCode());

    public GraphValue LayerNorm(GraphValue x, GraphValue scale, GraphValue bias, double epsilon)
    {
        if (scale.Rank != 1 || !Same(scale.Shape[0], x.Shape[^1])) throw ShapeError("LayerNormalization", x, scale);
        return Node("LayerNormalization", [x, scale, bias], x.Type, x.Shape, [Int("axis", -1), Float("epsilon", (float)epsilon)]);
    }

    /// <summary>Reshape to a constant target; 0 copies the input dimension (ONNX semantics), -1 is not used.</summary>
    public GraphValue Reshape(GraphValue x, params long[] target)
    {
        var shape = new Dim[target.Length];
        for (int i = 0; i < target.Length; i++)
        {
            if (target[i] < 0) throw new ArgumentException("Reshape: -1 is not supported by the shape rule; give every size");
            shape[i] = target[i] == 0 ? x.Shape[i] : target[i];
        }
        return Node("Reshape", [x, Int64s(target)], x.Type, shape);
    }

    public GraphValue Transpose(GraphValue x, params long[] perm)
    {
        if (perm.Length != x.Rank) throw new ArgumentException($"Transpose: perm of {perm.Length} for {x}");
        return Node("Transpose", [x], x.Type, perm.Select(p => x.Shape[p]).ToArray(), [Ints("perm", perm)]);
    }

    public GraphValue Unsqueeze(GraphValue x, params long[] axes)
    {
        var shape = x.Shape.ToList();
        foreach (var a in axes.Order()) shape.Insert((int)a, 1);
        return Node("Unsqueeze", [x, Int64s(axes)], x.Type, [.. shape]);
    }

    public GraphValue Squeeze(GraphValue x, long axis)
    {
        int ax = (int)(axis < 0 ? axis + x.Rank : axis);
        if (!x.Shape[ax].IsFixed || x.Shape[ax].Value != 1) throw new ArgumentException($"Squeeze: axis {axis} of {x} is not 1");
        return Node("Squeeze", [x, Int64s(axis)], x.Type, x.Shape.Where((_, i) => i != ax).ToArray());
    }

    /// <summary>Drops the first <paramref name="start"/> positions along <paramref name="axis"/> (x[:, start:] for axis 1).</summary>
    public GraphValue SliceFrom(GraphValue x, int axis, long start)
    {
        var shape = (Dim[])x.Shape.Clone();
        var d = shape[axis];
        shape[axis] = d.IsFixed ? d.Value - start : $"{d.Symbol}-{start}";
        return Node("Slice", [x, Int64s(start), Int64s(long.MaxValue), Int64s(axis)], x.Type, shape);
    }

    /// <summary>x[..., start:end, ...] along <paramref name="axis"/>, whose size must be fixed.</summary>
    public GraphValue Slice(GraphValue x, int axis, long start, long end)
    {
        var d = x.Shape[axis];
        if (!d.IsFixed || start < 0 || end > d.Value || start >= end) throw new ArgumentException($"Slice: [{start}, {end}) of axis {axis} of {x}");
        var shape = (Dim[])x.Shape.Clone();
        shape[axis] = end - start;
        return Node("Slice", [x, Int64s(start), Int64s(end), Int64s(axis)], x.Type, shape);
    }

    /// <summary>x[..., start:end, ...] along <paramref name="axis"/> with bounds known at run time (int64 [1] each); <paramref name="size"/> is the result's size there.</summary>
    public GraphValue Slice(GraphValue x, int axis, GraphValue start, GraphValue end, Dim size)
    {
        foreach (var bound in new[] { start, end })
        {
            RequireType(bound, "Slice bound", DataType.Int64);
            if (bound.Rank != 1 || !Same(bound.Shape[0], 1)) throw new ArgumentException($"Slice: bound {bound} is not a one-element vector");
        }
        var shape = (Dim[])x.Shape.Clone();
        shape[axis] = size;
        return Node("Slice", [x, start, end, Int64s(axis)], x.Type, shape);
    }

    /// <summary>Sum over <paramref name="axis"/>, which is dropped.</summary>
    public GraphValue ReduceSum(GraphValue x, int axis) =>
        Node("ReduceSum", [x, Int64s(axis)], x.Type, x.Shape.Where((_, i) => i != axis).ToArray(), [Int("keepdims", 0)]);

    /// <summary>ONNX Flatten: [d0·…·d(axis−1), d(axis)·…] (axis = rank gives a trailing 1).</summary>
    public GraphValue Flatten(GraphValue x, int axis)
    {
        if (axis < 1 || axis > x.Rank) throw new ArgumentException($"Flatten: axis {axis} of {x}");
        return Node("Flatten", [x], x.Type, [Product(x.Shape[..axis]), Product(x.Shape[axis..])], [Int("axis", axis)]);
    }

    /// <summary>Indices of the non-zero elements, [rank, count]; <paramref name="count"/> names the run-time count.</summary>
    public GraphValue NonZero(GraphValue x, string count) => Node("NonZero", [x], DataType.Int64, [x.Rank, count]);

    /// <summary>A copy of <paramref name="data"/> with the rows named by <paramref name="indices"/> ([n, 1]) replaced by <paramref name="updates"/>.</summary>
    public GraphValue ScatterRows(GraphValue data, GraphValue indices, GraphValue updates)
    {
        RequireType(indices, "ScatterND indices", DataType.Int64);
        if (indices.Rank != 2 || !Same(indices.Shape[1], 1) || updates.Rank != data.Rank || !Same(updates.Shape[0], indices.Shape[0])
            || !updates.Shape[1..].SequenceEqual(data.Shape[1..], DimComparer))
            throw ShapeError("ScatterND", data, updates);
        return Node("ScatterND", [data, indices, updates], data.Type, data.Shape);
    }

    /// <summary>The shape of <paramref name="x"/> as an int64 vector.</summary>
    public GraphValue Shape(GraphValue x) => Node("Shape", [x], DataType.Int64, [x.Rank]);

    public GraphValue Concat(int axis, params GraphValue[] values)
    {
        var shape = (Dim[])values[0].Shape.Clone();
        foreach (var v in values.Skip(1))
        {
            if (v.Type != values[0].Type || v.Rank != shape.Length) throw ShapeError("Concat", values[0], v);
            shape[axis] = shape[axis].IsFixed && v.Shape[axis].IsFixed ? shape[axis].Value + v.Shape[axis].Value : $"{shape[axis]}+{v.Shape[axis]}";
        }
        return Node("Concat", values, values[0].Type, shape, [Int("axis", axis)]);
    }

    /// <summary>A float32 tensor of zeros whose shape is the int64 vector <paramref name="shapeValue"/>; <paramref name="shape"/> is its shape rule.</summary>
    public GraphValue Zeros(GraphValue shapeValue, params Dim[] shape)
    {
        RequireType(shapeValue, "ConstantOfShape input", DataType.Int64);
        if (shapeValue.Rank != 1 || !Same(shapeValue.Shape[0], shape.Length)) throw new ArgumentException($"ConstantOfShape: {shapeValue} for rank {shape.Length}");
        var value = new TensorProto { DataType = (int)DataType.Float, RawData = Google.Protobuf.ByteString.CopyFrom(new byte[4]) };
        value.Dims.Add(1);
        return Node("ConstantOfShape", [shapeValue], DataType.Float, shape, [new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = value }]);
    }

    /// <summary>Reshape to a shape computed at run time; <paramref name="shape"/> is the caller's shape rule for it.</summary>
    public GraphValue Reshape(GraphValue x, GraphValue shapeValue, params Dim[] shape)
    {
        RequireType(shapeValue, "Reshape shape", DataType.Int64);
        if (shapeValue.Rank != 1 || !Same(shapeValue.Shape[0], shape.Length)) throw new ArgumentException($"Reshape: {shapeValue} for rank {shape.Length}");
        return Node("Reshape", [x, shapeValue], x.Type, shape);
    }

    /// <summary>Minimum over all elements, as a scalar.</summary>
    public GraphValue ReduceMinAll(GraphValue x) => Node("ReduceMin", [x], x.Type, [], [Int("keepdims", 0)]);

    public GraphValue Equal(GraphValue a, GraphValue b) => Compare("Equal", a, b);

    /// <summary>An int64 scalar constant, shared between uses.</summary>
    public GraphValue Int64Scalar(long value)
    {
        var key = "i64s:" + value;
        if (_constants.TryGetValue(key, out var v)) return v;
        v = Initializer(Fresh("const_i64"), DataType.Int64, System.Runtime.InteropServices.MemoryMarshal.AsBytes(new ReadOnlySpan<long>(in value)));
        _constants[key] = v;
        return v;
    }

    private GraphValue Compare(string op, GraphValue a, GraphValue b)
    {
        if (a.Type != b.Type) throw new ArgumentException($"{op}: element types differ ({a}, {b})");
        return Node(op, [a, b], DataType.Bool, Broadcast(op, a.Shape, b.Shape, a, b));
    }

    private static Dim Product(Dim[] dims) =>
        dims.All(d => d.IsFixed) ? dims.Aggregate(1L, (p, d) => p * d.Value)
        : string.Join("*", dims.Where(d => !d.IsFixed || d.Value != 1));

    /// <summary>L2 norm over the last axis, kept as a size-1 axis.</summary>
    public GraphValue ReduceL2LastAxis(GraphValue x)
    {
        var shape = (Dim[])x.Shape.Clone();
        shape[^1] = 1;
        return Node("ReduceL2", [x], x.Type, shape, [Ints("axes", [-1]), Int("keepdims", 1)]);
    }

    private GraphValue Elementwise(string op, GraphValue a, GraphValue b)
    {
        if (a.Type != b.Type) throw new ArgumentException($"{op}: element types differ ({a}, {b})");
        return Node(op, [a, b], a.Type, Broadcast(op, a.Shape, b.Shape, a, b));
    }

    /// <summary>Numpy broadcasting; symbolic dimensions are taken as equal when their symbols match.</summary>
    private static Dim[] Broadcast(string op, Dim[] a, Dim[] b, GraphValue va, GraphValue vb)
    {
        int rank = Math.Max(a.Length, b.Length);
        var result = new Dim[rank];
        for (int i = 0; i < rank; i++)
        {
            Dim? x = i - (rank - a.Length) >= 0 ? a[i - (rank - a.Length)] : (Dim?)null;
            Dim? y = i - (rank - b.Length) >= 0 ? b[i - (rank - b.Length)] : (Dim?)null;
            if (x is not { } dx) result[i] = y!.Value;
            else if (y is not { } dy) result[i] = dx;
            else if (dx.IsFixed && dx.Value == 1) result[i] = dy;
            else if (dy.IsFixed && dy.Value == 1) result[i] = dx;
            else if (Same(dx, dy)) result[i] = dx;
            else throw ShapeError(op, va, vb);
        }
        return result;
    }

    private static bool Same(Dim a, Dim b) => a.IsFixed == b.IsFixed && (a.IsFixed ? a.Value == b.Value : a.Symbol == b.Symbol);

    private static void RequireType(GraphValue v, string what, params DataType[] allowed)
    {
        if (!allowed.Contains(v.Type)) throw new ArgumentException($"{what}: {v} must be one of {string.Join(", ", allowed)}");
    }

    private static ArgumentException ShapeError(string op, GraphValue a, GraphValue b) =>
        new($"{op}: incompatible shapes {a} and {b}");

    private static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    private static AttributeProto Float(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    private static AttributeProto Ints(string name, IEnumerable<long> values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }
}
