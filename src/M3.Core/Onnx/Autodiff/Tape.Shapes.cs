namespace M3.Core.Onnx.Autodiff;

// Shape ops: their gradients undo the move.
internal sealed partial class Tape
{
    /// <summary>Reshape to a run-time shape; the input's shape is taken in the forward pass, so the backward pass does not keep x alive for it.</summary>
    public Var Reshape(Var x, GraphValue shapeValue, params Dim[] shape)
    {
        var inputShape = x.RequiresGrad ? g.Shape(x.Value) : null;
        return Record(g.Reshape(x.Value, shapeValue, shape), [x], dy => Accumulate(x, () => g.Reshape(dy, inputShape!, x.Shape)));
    }

    public Var Transpose(Var x, params long[] perm)
    {
        var inverse = new long[perm.Length];
        for (int i = 0; i < perm.Length; i++) inverse[perm[i]] = i;
        return Record(g.Transpose(x.Value, perm), [x], dy => Accumulate(x, () => g.Transpose(dy, inverse)));
    }

    /// <summary>x[…, start:end, …] along <paramref name="axis"/> (end null: to the end); the gradient is padded back with zeros.</summary>
    public Var Slice(Var x, int axis, long start, long? end = null)
    {
        var shape = (Dim[])x.Shape.Clone();
        var d = shape[axis];
        shape[axis] = end is { } e ? e - start : d.IsFixed ? d.Value - start : $"{d.Symbol}-{start}";
        var y = g.Node("Slice", [x.Value, g.Int64s(start), g.Int64s(end ?? long.MaxValue), g.Int64s(axis)], x.Value.Type, shape);
        // Zeros after the slice: the axis' run-time size minus end; taken in the forward pass like Reshape's shape.
        var after = x.RequiresGrad && end is { } stop ? g.Sub(g.Slice(g.Shape(x.Value), 0, axis, axis + 1), g.Int64s(stop)) : null;
        return Record(y, [x], dy => Accumulate(x, () =>
        {
            int rank = x.Value.Rank;
            var begins = new long[rank];
            begins[axis] = start;
            GraphValue pads;
            if (after == null) pads = g.Int64s([.. begins, .. new long[rank]]);
            else
            {
                var parts = new List<GraphValue> { g.Int64s([.. begins, .. new long[axis]]), after };
                if (axis + 1 < rank) parts.Add(g.Int64s(new long[rank - axis - 1]));
                pads = g.Concat(0, [.. parts]);
            }
            return g.Pad(dy, pads, x.Shape);
        }));
    }

    /// <summary>Rows of an embedding table. Its gradient is not formed here: the caller reads the gradient of the gathered rows and scatter-adds it into the touched rows, never a dense table-sized tensor.</summary>
    public Var GatherRows(Var table, GraphValue indices) => new(g.Gather(table.Value, indices), table.RequiresGrad);

    /// <summary>
    /// Rows of x [rows, w] moved to new places: y[i] = x[forward[i]], where forward[i] = rows picks a zero row (when
    /// <paramref name="forwardZero"/>). Each row of x goes to at most one place, so the gradient is a gather too:
    /// dx[j] = dy[backward[j]], backward[j] = y's row count picking a zero row (when <paramref name="backwardZero"/>) for rows
    /// that went nowhere. Packs and unpacks token rows without a scatter.
    /// </summary>
    public Var Regather(Var x, GraphValue forward, bool forwardZero, GraphValue backward, bool backwardZero)
    {
        var y = g.Gather(forwardZero ? WithZeroRow(x.Value) : x.Value, forward);
        return Record(y, [x], dy => Accumulate(x, () => g.Gather(backwardZero ? WithZeroRow(dy) : dy, backward)));
    }

    private GraphValue WithZeroRow(GraphValue x) =>
        g.Pad(x, g.Int64s(0, 0, 1, 0), x.Shape[0].IsFixed ? (Dim)(x.Shape[0].Value + 1) : (Dim)$"{x.Shape[0]}+1", x.Shape[1]);

    public Var Squeeze(Var x, long axis) => Record(g.Squeeze(x.Value, axis), [x], dy => Accumulate(x, () => g.Unsqueeze(dy, axis < 0 ? axis + x.Value.Rank : axis)));
}
