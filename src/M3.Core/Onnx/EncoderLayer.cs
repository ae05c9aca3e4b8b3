using M3.Core.Checkpoint;

namespace M3.Core.Onnx;

/// <summary>
/// How one XLM-RoBERTa layer (a post-LayerNorm BERT layer) is wired, shared by the inference graph (<see cref="M3Graph"/>:
/// packed rows, fused attention, optional int8 products) and the training graph (op-by-op attention, dropout, autodiff):
/// each supplies the operations over its own value type.
/// </summary>
internal interface IEncoderLayerOps<T>
{
    /// <summary>Multi-head self-attention of the layer's input, up to the context vectors (before the output projection).</summary>
    T SelfAttention(T x, int layer);

    /// <summary>The encoder Linear <c>NAME.weight</c>, <c>NAME.bias</c>.</summary>
    T Linear(T x, string name);

    /// <summary>Hidden-state dropout at <paramref name="site"/>; the identity where there is none.</summary>
    T Dropout(T x, string site);

    /// <summary>The residual sum before each LayerNorm.</summary>
    T Residual(T sublayer, T x);

    /// <summary>The LayerNorm <c>NAME.weight</c>, <c>NAME.bias</c>.</summary>
    T Norm(T x, string name);

    T Gelu(T x);
}

internal static class EncoderLayer
{
    public static T Build<T>(IEncoderLayerOps<T> ops, int layer, T x)
    {
        var p = M3TensorLayout.LayerPrefix(layer);
        var attention = ops.Dropout(ops.Linear(ops.SelfAttention(x, layer), p + "attention.output.dense"), $"dropout:{layer}.attention_output");
        x = ops.Norm(ops.Residual(attention, x), p + "attention.output.LayerNorm");
        var inner = ops.Gelu(ops.Linear(x, p + "intermediate.dense"));
        var output = ops.Dropout(ops.Linear(inner, p + "output.dense"), $"dropout:{layer}.output");
        return ops.Norm(ops.Residual(output, x), p + "output.LayerNorm");
    }
}
