using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;

namespace M3.Bench.Encoder;

/// <summary>
/// Attention's own products at BGE-M3's width (16 heads of 64) on one unpadded text, through ONNX Runtime: the fused float32
/// kernel the encoder uses (MultiHeadAttention, flash without a mask), the op-by-op float32 form, and op-by-op forms with
/// Q·Kᵀ and probabilities·V in int8 (activations quantized per tensor at run time, as DynamicQuantizeMatMul does): what an
/// int8 attention would gain before anything else is paid for.
/// </summary>
public static class AttentionKernels
{
    private const int Heads = 16, HeadSize = 64, Hidden = Heads * HeadSize;

    public sealed record Timing(string Kernel, int Tokens, double Milliseconds);

    public static List<Timing> Measure(int threads, IEnumerable<int> tokens)
    {
        var rows = new List<Timing>();
        foreach (var n in tokens)
        {
            var packed = new Dictionary<string, (float[], long[])>
            {
                ["q"] = (MatMulCeiling.Random(n * Hidden, 1f), [1, n, Hidden]),
                ["k"] = (MatMulCeiling.Random(n * Hidden, 1f), [1, n, Hidden]),
                ["v"] = (MatMulCeiling.Random(n * Hidden, 1f), [1, n, Hidden]),
            };
            var perHead = new Dictionary<string, (float[], long[])>
            {
                ["q"] = (packed["q"].Item1, [1, Heads, n, HeadSize]),
                ["kt"] = (packed["k"].Item1, [1, Heads, HeadSize, n]),
                ["v"] = (packed["v"].Item1, [1, Heads, n, HeadSize]),
            };
            rows.Add(new("fp32 MultiHeadAttention (flash, no mask)", n, Time(FusedFp32(n), packed, threads)));
            rows.Add(new("fp32 MatMul, Softmax, MatMul", n, Time(OpByOp(n, int8: false), perHead, threads)));
            rows.Add(new("int8 MatMulInteger, Softmax, MatMulInteger", n, Time(OpByOp(n, int8: true), perHead, threads)));
            rows.Add(new("int8 MatMulIntegerToFloat, Softmax, DynamicQuantizeMatMul", n, Time(IntegerToFloat(n), perHead, threads)));
        }
        return rows;
    }

    private static byte[] FusedFp32(int n) => new MicroGraph()
        .Input("q", 1, n, Hidden).Input("k", 1, n, Hidden).Input("v", 1, n, Hidden).Output("y", 1, n, Hidden)
        .Node("MultiHeadAttention", ["q", "k", "v"], ["y"], "com.microsoft", ("num_heads", Heads))
        .ToModel();

    private static MicroGraph PerHeadInputs(int n) => new MicroGraph()
        .Input("q", 1, Heads, n, HeadSize).Input("kt", 1, Heads, HeadSize, n).Input("v", 1, Heads, n, HeadSize).Output("y", 1, Heads, n, HeadSize)
        .Initializer("scale", [], [1f / MathF.Sqrt(HeadSize)]);

    private static byte[] OpByOp(int n, bool int8)
    {
        var g = PerHeadInputs(n);
        if (!int8)
            return g.Node("MatMul", ["q", "kt"], ["s"]).Node("Mul", ["s", "scale"], ["ss"]).Node("Softmax", ["ss"], ["p"], "", ("axis", -1))
                .Node("MatMul", ["p", "v"], ["y"]).ToModel();
        return g
            .Node("DynamicQuantizeLinear", ["q"], ["qq", "qs", "qz"]).Node("DynamicQuantizeLinear", ["kt"], ["kq", "ks", "kz"])
            .Node("MatMulInteger", ["qq", "kq", "qz", "kz"], ["si"]).Node("Cast", ["si"], ["sf"], "", ("to", MicroGraph.Float))
            .Node("Mul", ["qs", "ks"], ["qks"]).Node("Mul", ["qks", "scale"], ["sscale"]).Node("Mul", ["sf", "sscale"], ["ss"])
            .Node("Softmax", ["ss"], ["p"], "", ("axis", -1))
            .Node("DynamicQuantizeLinear", ["p"], ["pq", "ps", "pz"]).Node("DynamicQuantizeLinear", ["v"], ["vq", "vs", "vz"])
            .Node("MatMulInteger", ["pq", "vq", "pz", "vz"], ["yi"]).Node("Cast", ["yi"], ["yf"], "", ("to", MicroGraph.Float))
            .Node("Mul", ["ps", "vs"], ["pvs"]).Node("Mul", ["yf", "pvs"], ["y"])
            .ToModel();
    }

    // The scales fold into the integer kernel's output (MatMulIntegerToFloat), and DynamicQuantizeMatMul quantizes the
    // probabilities itself: two passes over the [heads, n, n] scores fewer than the plain int8 form.
    private static byte[] IntegerToFloat(int n) => PerHeadInputs(n)
        .Node("DynamicQuantizeLinear", ["q"], ["qq", "qs", "qz"]).Node("DynamicQuantizeLinear", ["kt"], ["kq", "ks", "kz"])
        .Node("Mul", ["qs", "scale"], ["qss"])
        .Node("MatMulIntegerToFloat", ["qq", "kq", "qss", "ks", "qz", "kz"], ["ss"], "com.microsoft")
        .Node("Softmax", ["ss"], ["p"], "", ("axis", -1))
        .Node("DynamicQuantizeLinear", ["v"], ["vq", "vs", "vz"])
        .Node("DynamicQuantizeMatMul", ["p", "vq", "vs", "vz"], ["y"], "com.microsoft")
        .ToModel();

    private static double Time(byte[] model, IReadOnlyDictionary<string, (float[] Data, long[] Shape)> inputs, int threads)
    {
        using var options = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        using var session = new InferenceSession(model, options);
        using var run = new RunOptions();
        var values = inputs.Select(i => OrtValue.CreateTensorValueFromMemory(i.Value.Data, i.Value.Shape)).ToArray();
        try
        {
            var best = double.MaxValue;
            for (var i = 0; i < 4; i++) // first run warms up; best of the rest, as other processes share the machine
            {
                var watch = Stopwatch.StartNew();
                using var output = session.Run(run, inputs.Keys.ToArray(), values, ["y"]);
                if (i > 0) best = Math.Min(best, watch.Elapsed.TotalMilliseconds);
            }
            return best;
        }
        finally
        {
            foreach (var v in values) v.Dispose();
        }
    }
}
