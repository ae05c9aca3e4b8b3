namespace M3.Bench.Encoder;

/// <summary>The machine's fp32 matrix-product rate through ONNX Runtime, on transformer-shaped MatMuls.</summary>
public static class MatMulCeiling
{
    public static double? Measure(int threads) => throw new NotSupportedException("waiting for the ONNX graph builder");
}
