namespace M3.Core.Onnx;

/// <summary>
/// Runs the encoder on real tokens only. A padded batch [batch, seq] is packed into its real tokens once, so every
/// projection, LayerNorm and GELU works on [1, tokens, H] rows and padding costs nothing there (it was 9–34 % of the
/// rows of short multilingual texts, depending on the batch plan). Attention runs without a mask, which lets ONNX Runtime
/// take its flash kernel: a batch without padding (every long text: see <see cref="Inference.BatchPlan.AloneFromTokens"/>)
/// attends as it is, reshaped to [batch, seq]; a padded batch attends text by text on slices of the packed rows (an ONNX
/// Loop), so padding is not attended at all. Measured per layer (H 1024, 16 heads, best of 4 rounds): masked 13.9 / 11.2 /
/// 31 / 102 ms, flash 13.0 / 11.0 / 25 / 91 ms, op-by-op (MatMul, Softmax, MatMul) 15.1 / 12.8 / 33 / 116 ms for 16×128 /
/// 512 / 1,024 / 2,000 tokens.
/// </summary>
internal sealed class Packing
{
    private const string Tokens = "tokens";

    private readonly GraphBuilder _g;
    // Built once in the main graph, not per layer (nor inside a branch, where the other layers could not read them).
    private readonly GraphValue _rows, _rowIndex, _noPadding, _zeroRows, _hiddenShape, _qkvShape;
    private readonly GraphValue _textStarts, _textEnds, _textCount, _noContext;
    private readonly long _hidden;

    public Packing(GraphBuilder g, GraphValue mask, long hidden)
    {
        _g = g;
        _hidden = hidden;
        // Row (in the flattened batch·seq rows) of every real token, in order.
        var maskRows = g.Flatten(mask, 2);
        _rows = g.GatherIndex(g.NonZero(maskRows, Tokens), 0, 0);
        _rowIndex = g.Unsqueeze(_rows, 1);
        _noPadding = g.Equal(g.ReduceMinAll(mask), g.Int64Scalar(1));
        var batchSeq = g.Shape(mask);
        _zeroRows = g.Zeros(g.Concat(0, g.Slice(g.Shape(maskRows), 0, 0, 1), g.Int64s(hidden)), "batch*seq", hidden);
        _hiddenShape = g.Concat(0, batchSeq, g.Int64s(hidden));
        _qkvShape = g.Concat(0, batchSeq, g.Int64s(3 * hidden));
        // Each text's rows in the packed sequence, [start, end): texts are packed in batch order.
        var lengths = g.ReduceSum(mask, 1);
        _textEnds = g.CumSum(lengths, 0);
        _textStarts = g.Sub(_textEnds, lengths);
        _textCount = g.GatherIndex(batchSeq, 0, 0);
        _noContext = g.Zeros(g.Int64s(1, 0, hidden), 1, 0, hidden);
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

    /// <summary>Packed rows [1, tokens, H] back to [batch, seq, H], zeros at padding.</summary>
    public GraphValue Unpack(GraphValue packed)
    {
        if (packed.Shape[2] is not { IsFixed: true } n || n.Value != _hidden) throw new ArgumentException($"Unpack: rows of {packed.Shape[2]}, expected {_hidden}");
        var rows = _g.ScatterRows(_zeroRows, _rowIndex, _g.Squeeze(packed, 0));
        return _g.Reshape(rows, _hiddenShape, "batch", "seq", _hidden);
    }

    /// <summary>
    /// Multi-head attention over packed [1, tokens, 3H] Q|K|V rows, each text attending to itself; packed [1, tokens, H]
    /// context out. With <paramref name="int8"/>, M3Sharp's int8 kernel (<see cref="NativeOps"/>), which takes the packed
    /// rows and the texts' ends as they are; otherwise ONNX Runtime's fused float32 attention.
    /// </summary>
    public GraphValue Attention(GraphValue qkv, long heads, bool int8) =>
        int8 ? _g.PackedInt8Attention(qkv, _textEnds, heads) : FusedAttention(qkv, heads);

    private GraphValue FusedAttention(GraphValue qkv, long heads) =>
        _g.If(_noPadding, [1, Tokens, _hidden],
            // No padding: tokens are exactly the batch·seq rows, so reshapes are the whole unpacking and packing.
            () => _g.Reshape(Attend(_g.Reshape(qkv, _qkvShape, "batch", "seq", 3 * _hidden), heads),
                _g.Int64s(1, -1, _hidden), 1, Tokens, _hidden),
            () => AttendPerText(qkv, heads));

    /// <summary>
    /// Attention text by text on the packed rows: each text's Q|K|V rows are a contiguous slice, attended without a mask
    /// (the flash kernel) and appended to the context, so no padding is attended and nothing is scattered or gathered.
    /// </summary>
    private GraphValue AttendPerText(GraphValue qkv, long heads) =>
        _g.Loop(_textCount, [_noContext], [[1, "context", _hidden]], (i, carried) =>
        {
            var rows = _g.Slice(qkv, 1, _g.Unsqueeze(_g.Gather(_textStarts, i), 0), _g.Unsqueeze(_g.Gather(_textEnds, i), 0), "text");
            return [_g.Concat(1, carried[0], Attend(rows, heads))];
        })[0];

    private GraphValue Attend(GraphValue qkv, long heads) =>
        _g.MultiHeadAttention(_g.Slice(qkv, 2, 0, _hidden), _g.Slice(qkv, 2, _hidden, 2 * _hidden), _g.Slice(qkv, 2, 2 * _hidden, 3 * _hidden), heads);
}
