using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;

namespace M3.Bench.Encoder;

/// <summary>
/// Matrix-product rates through ONNX Runtime on BGE-M3's feed-forward shapes (2,048 tokens × 1,024 → 4,096 and back):
/// the fp32 ceiling our model's FLOP/s is compared with, and the int8 kernels the int8 mode could use
/// (com.microsoft DynamicQuantizeMatMul, ONNX MatMulInteger with dynamic activation quantization, MatMulNBits bits=8).
/// </summary>
public static class MatMulCeiling
{
    private const int Tokens = 2048, Hidden = 1024, Intermediate = 4096;
    private const int Int64Type = 7; // ONNX TensorProto INT64

    /// <summary>The fp32 ceiling: fp32 MatMul's better rate of the two feed-forward shapes.</summary>
    public static double Fp32Ceiling(int threads) =>
        Math.Max(Rate(Fp32(Hidden, Intermediate), Hidden, Intermediate, threads), Rate(Fp32(Intermediate, Hidden), Intermediate, Hidden, threads));

    /// <summary>Effective GFLOP/s (2·M·K·N per second) of each kernel on both shapes, for choosing the int8 kernel.</summary>
    public static List<KernelRate> Kernels(int threads)
    {
        var rows = new List<KernelRate>();
        foreach (var (k, n) in new[] { (Hidden, Intermediate), (Intermediate, Hidden) })
        {
            rows.Add(new("fp32 MatMul", k, n, Rate(Fp32(k, n), k, n, threads)));
            rows.Add(new("int8 DynamicQuantizeMatMul", k, n, Rate(DynamicQuantizeMatMul(k, n), k, n, threads)));
            rows.Add(new("int8 MatMulInteger", k, n, Rate(MatMulInteger(k, n), k, n, threads)));
            rows.Add(new("int8 DynamicQuantizeMatMul + bias", k, n, Rate(DynamicQuantizeMatMul(k, n, withBias: true), k, n, threads)));
            rows.Add(new("int8 per-row scales + bias", k, n, Rate(PerRowInt8(k, n), k, n, threads)));
            foreach (var (block, level) in new[] { (128, 0), (128, 4), (32, 4) })
                rows.Add(new($"int8 MatMulNBits (block {block}, accuracy {level})", k, n, Rate(MatMulNBits(k, n, block, level), k, n, threads)));
        }
        return rows;
    }

    private static byte[] Fp32(int k, int n) => new MicroGraph()
        .Input("a", "m", k).Output("y", "m", n)
        .Initializer("b", [k, n], Random(k * n, 0.02f))
        .Node("MatMul", ["a", "b"], ["y"])
        .ToModel();

    private static byte[] DynamicQuantizeMatMul(int k, int n, bool withBias = false)
    {
        var g = new MicroGraph()
            .Input("a", "m", k).Output("y", "m", n)
            .Initializer("b", MicroGraph.Int8, [k, n], RandomBytes(k * n))
            .Initializer("scale", [n], Enumerable.Repeat(0.02f / 127, n).ToArray())
            .Initializer("zero", MicroGraph.Int8, [n], new byte[n]);
        if (withBias) g.Initializer("bias", [n], Random(n, 0.1f));
        return g.Node("DynamicQuantizeMatMul", withBias ? ["a", "b", "scale", "zero", "bias"] : ["a", "b", "scale", "zero"], ["y"], "com.microsoft").ToModel();
    }

    /// <summary>
    /// Activations quantized per row (per token) instead of per tensor, so a token's result does not depend on the rest of
    /// its batch: symmetric scale max|row| / 127, stored as uint8 around a zero point of 128 so that the fast u8×s8 kernel
    /// applies; the integer product is scaled per column inside MatMulIntegerToFloat, per row and biased after it.
    /// </summary>
    private static byte[] PerRowInt8(int k, int n) => new MicroGraph()
        .Input("a", "m", k).Output("y", "m", n)
        .Initializer("b", MicroGraph.Int8, [k, n], RandomBytes(k * n))
        .Initializer("scale", [n], Enumerable.Repeat(0.02f / 127, n).ToArray())
        .Initializer("bias", [n], Random(n, 0.1f))
        .Initializer("one", [], [1f])
        .Initializer("max_int8", [], [127f])
        .Initializer("zero128", MicroGraph.UInt8, [], [128])
        .Initializer("axis1", Int64Type, [1], BitConverter.GetBytes(1L))
        .Node("Abs", ["a"], ["abs"])
        .Node("ReduceMax", ["abs", "axis1"], ["max"], "", ("keepdims", 0))
        .Node("Div", ["max", "max_int8"], ["rowscale"])
        .Node("Shape", ["rowscale"], ["rows"])
        .Node("Expand", ["zero128", "rows"], ["rowzero"])
        .Node("QuantizeLinear", ["a", "rowscale", "rowzero"], ["aq"], "", ("axis", 0))
        .Node("MatMulIntegerToFloat", ["aq", "b", "one", "scale", "zero128"], ["acc"], "com.microsoft")
        .Node("Unsqueeze", ["rowscale", "axis1"], ["rowscale2"])
        .Node("Mul", ["acc", "rowscale2"], ["scaled"])
        .Node("Add", ["scaled", "bias"], ["y"])
        .ToModel();

    private static byte[] MatMulInteger(int k, int n) => new MicroGraph()
        .Input("a", "m", k).Output("y", "m", n)
        .Initializer("b", MicroGraph.Int8, [k, n], RandomBytes(k * n))
        .Initializer("bscale", [n], Enumerable.Repeat(0.02f / 127, n).ToArray())
        .Node("DynamicQuantizeLinear", ["a"], ["aq", "ascale", "azero"])
        .Node("MatMulInteger", ["aq", "b", "azero"], ["acc"])
        .Node("Cast", ["acc"], ["accf"], "", ("to", MicroGraph.Float))
        .Node("Mul", ["ascale", "bscale"], ["s"])
        .Node("Mul", ["accf", "s"], ["y"])
        .ToModel();

    // Blocks along K per output channel (ONNX Runtime takes blocks of 16 to 256, not a whole channel).
    private static byte[] MatMulNBits(int k, int n, int block, int accuracyLevel) => new MicroGraph()
        .Input("a", "m", k).Output("y", "m", n)
        .Initializer("b", MicroGraph.UInt8, [n, k / block, block], RandomBytes(k * n))
        .Initializer("scale", [n * (k / block)], Enumerable.Repeat(0.02f / 127, n * (k / block)).ToArray())
        .Node("MatMulNBits", ["a", "b", "scale"], ["y"], "com.microsoft",
            ("K", k), ("N", n), ("bits", 8), ("block_size", block), ("accuracy_level", accuracyLevel))
        .ToModel();

    private static double Rate(byte[] model, int k, int n, int threads)
    {
        using var options = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        using var session = new InferenceSession(model, options);
        using var run = new RunOptions();
        var a = Random(Tokens * k, 1f);
        using var input = OrtValue.CreateTensorValueFromMemory(a, [Tokens, k]);
        double best = double.MaxValue;
        for (var i = 0; i < 6; i++) // first run warms up; best of the rest, as other processes share the machine
        {
            var watch = Stopwatch.StartNew();
            using var output = session.Run(run, ["a"], [input], ["y"]);
            if (i > 0) best = Math.Min(best, watch.Elapsed.TotalSeconds);
        }
        return 2.0 * Tokens * k * n / best / 1e9;
    }

    internal static float[] Random(int count, float scale)
    {
        var rng = new Random(7);
        var values = new float[count];
        for (var i = 0; i < count; i++) values[i] = scale * (float)(rng.NextDouble() * 2 - 1);
        return values;
    }

    private static byte[] RandomBytes(int count)
    {
        var bytes = new byte[count];
        new Random(11).NextBytes(bytes);
        return bytes;
    }
}
