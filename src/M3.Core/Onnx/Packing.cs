using DataType = M3.Core.Onnx.Proto.TensorProto.Types.DataType;

namespace M3.Core.Onnx;

/// <summary>
/// Runs the encoder on real tokens only. A padded batch [batch, seq] is packed into its real tokens once, so every
/// projection, LayerNorm and GELU works on [1, tokens, H] rows and padding costs nothing there (it was 9–34 % of the
/// rows of short multilingual texts, depending on the batch plan). Attention alone needs the [batch, seq] layout: Q/K/V
/// are scattered back into it around the fused attention kernel and its output is packed again. A batch without padding (every long text: see
/// <see cref="Inference.BatchPlan.AloneFromTokens"/>) runs attention without a mask, which lets ONNX Runtime take its flash
/// kernel. Measured per layer (H 1024, 16 heads, best of 4 rounds): masked 13.9 / 11.2 / 31 / 102 ms, flash 13.0 / 11.0 / 25 /
/// 91 ms, op-by-op (MatMul, Softmax, MatMul) 15.1 / 12.8 / 33 / 116 ms for 16×128 / 512 / 1,024 / 2,000 tokens.
/// </summary>
internal sealed class Packing
{
    private const string Tokens = "tokens";

    /// <summary>The padded layout of n-wide rows: a [batch·seq, n] zero buffer to scatter into and the [batch, seq, n] shape.</summary>
    private readonly record struct Padded(GraphValue Zeros, GraphValue Shape);

    private readonly GraphBuilder _g;
    private readonly GraphValue _mask, _rows, _rowIndex, _noPadding;
    // Built once in the main graph, not per layer (nor inside a branch, where the other layers could not read them).
    private readonly Padded _qkv, _hiddenRows;
    private readonly long _hidden;

    public Packing(GraphBuilder g, GraphValue mask, long hidden)
    {
        _g = g;
        _mask = mask;
        _hidden = hidden;
        // Row (in the flattened batch·seq rows) of every real token, in order.
        var maskRows = g.Flatten(mask, 2);
        _rows = g.GatherIndex(g.NonZero(maskRows, Tokens), 0, 0);
        _rowIndex = g.Unsqueeze(_rows, 1);
        _noPadding = g.Equal(g.ReduceMinAll(mask), g.Int64Scalar(1));
        var paddedRows = g.Slice(g.Shape(maskRows), 0, 0, 1);
        var batchSeq = g.Shape(mask);
        Padded Layout(long n) => new(g.Zeros(g.Concat(0, paddedRows, g.Int64s(n)), "batch*seq", n), g.Concat(0, batchSeq, g.Int64s(n)));
        _qkv = Layout(3 * hidden);
        _hiddenRows = Layout(hidden);
    }

    /// <summary>
    /// [batch, seq] (or [batch, seq, n]) values of the real tokens as one sequence: [1, tokens] (or [1, tokens, n]).
    /// Kept three-dimensional because ONNX Runtime turns a 2-D MatMul + Add into Gemm, measured 3–6 % slower here than
    /// MatMul with the bias added apart (which also lets the first feed-forward bias fuse into BiasGelu).
    /// </summary>
    public GraphValue Pack(GraphValue padded)
    {
        var packed = _g.Gather(_g.Flatten(padded, 2), _rows);
        return padded.Rank == 2 ? _g.Unsqueeze(_g.Squeeze(packed, 1), 0) : _g.Unsqueeze(packed, 0);
    }

    /// <summary>Packed rows [1, tokens, n] back to [batch, seq, n], zeros at padding.</summary>
    public GraphValue Unpack(GraphValue packed)
    {
        long n = packed.Shape[2].Value;
        var layout = n == 3 * _hidden ? _qkv : n == _hidden ? _hiddenRows : throw new ArgumentException($"Unpack: rows of {n}, expected {_hidden} or {3 * _hidden}");
        var rows = _g.ScatterRows(layout.Zeros, _rowIndex, _g.Squeeze(packed, 0));
        return _g.Reshape(rows, layout.Shape, "batch", "seq", n);
    }

    /// <summary>
    /// Fused multi-head attention over packed [1, tokens, 3H] Q|K|V rows; packed [1, tokens, H] context out. The mask's int32 cast
    /// stays inside the branch: shared from outside, ONNX Runtime's optimizer warns on every load that it cannot rename it.
    /// </summary>
    public GraphValue Attention(GraphValue qkv, long heads) =>
        _g.If(_noPadding, [1, Tokens, _hidden],
            // No padding: tokens are exactly the batch·seq rows, so reshapes are the whole unpacking and packing.
            () => _g.Reshape(Attend(_g.Reshape(qkv, _qkv.Shape, "batch", "seq", 3 * _hidden), null, heads),
                _g.Int64s(1, -1, _hidden), 1, Tokens, _hidden),
            () => Pack(Attend(Unpack(qkv), _g.Cast(_mask, DataType.Int32), heads)));

    private GraphValue Attend(GraphValue qkv, GraphValue? keyMask, long heads) =>
        _g.MultiHeadAttention(_g.Slice(qkv, 2, 0, _hidden), _g.Slice(qkv, 2, _hidden, 2 * _hidden), _g.Slice(qkv, 2, 2 * _hidden, 3 * _hidden), keyMask, heads);
}
