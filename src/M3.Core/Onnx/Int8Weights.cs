namespace M3.Core.Onnx;

/// <summary>
/// A torch Linear weight [out, in] quantized symmetrically per output channel to int8 and laid out [in, out], the B operand
/// of com.microsoft DynamicQuantizeMatMul (which quantizes activations per tensor at run time). Symmetric, so the zero
/// point is 0; the range is ±127 so that −128 never appears and the scale of a channel is exactly max|w| / 127.
/// </summary>
internal sealed class Int8Weights
{
    private Int8Weights(sbyte[] values, float[] scales, int inFeatures, int outFeatures)
    {
        Values = values;
        Scales = scales;
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
    }

    /// <summary>Quantized values, row-major [in, out].</summary>
    public sbyte[] Values { get; }

    /// <summary>One scale per output channel: w ≈ value × scale.</summary>
    public float[] Scales { get; }

    public int InFeatures { get; }
    public int OutFeatures { get; }

    /// <summary>Quantizes a row-major [outFeatures, inFeatures] weight (torch's Linear layout).</summary>
    public static Int8Weights Quantize(ReadOnlySpan<float> weight, int outFeatures, int inFeatures)
    {
        if (weight.Length != (long)outFeatures * inFeatures)
            throw new ArgumentException($"weight has {weight.Length} values, expected {outFeatures}×{inFeatures}", nameof(weight));
        var scales = new float[outFeatures];
        var values = new sbyte[weight.Length];
        for (var o = 0; o < outFeatures; o++)
        {
            var row = weight.Slice(o * inFeatures, inFeatures);
            var max = MathF.Abs(System.Numerics.Tensors.TensorPrimitives.MaxMagnitude(row));
            if (!float.IsFinite(max)) throw new ArgumentException($"output channel {o} holds a non-finite weight", nameof(weight));
            // An all-zero channel keeps scale 1 so dequantization stays exact (0 × 1) and nothing divides by zero.
            var scale = max > 0 ? max / 127f : 1f;
            scales[o] = scale;
            for (var i = 0; i < inFeatures; i++)
                values[i * outFeatures + o] = (sbyte)Math.Clamp(MathF.Round(row[i] / scale, MidpointRounding.ToEven), -127, 127);
        }
        return new Int8Weights(values, scales, inFeatures, outFeatures);
    }

    /// <summary>The quantized value of weight[out, in] times its scale: what the int8 graph multiplies by.</summary>
    public float Dequantized(int outFeature, int inFeature) => Values[inFeature * OutFeatures + outFeature] * Scales[outFeature];
}
