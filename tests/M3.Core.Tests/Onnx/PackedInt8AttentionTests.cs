using M3.Core.Onnx;
using Microsoft.ML.OnnxRuntime;
using DataType = M3.Core.Onnx.Proto.TensorProto.Types.DataType;

namespace M3.Core.Tests.Onnx;

/// <summary>M3Sharp's native int8 attention operator (src/M3.Core/Native) against attention computed in float64.</summary>
public class PackedInt8AttentionTests
{
    /// <summary>
    /// Where the build compiles the operator and the CPU runs it: Linux x64 with g++ and AVX-512 VNNI. Elsewhere the
    /// graphs fall back to ONNX Runtime's own attention, and these tests have nothing to check.
    /// </summary>
    private static bool Expected =>
        OperatingSystem.IsLinux() && System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture == System.Runtime.InteropServices.Architecture.X64
        && File.ReadAllText("/proc/cpuinfo").Contains(" avx512_vnni", StringComparison.Ordinal)
        && Environment.GetEnvironmentVariable("PATH")!.Split(':').Any(p => File.Exists(Path.Combine(p, "g++")))
        && !string.Equals(Environment.GetEnvironmentVariable(NativeOps.SwitchVariable), "off", StringComparison.OrdinalIgnoreCase);

    [Fact]
    public void The_build_puts_the_operator_beside_M3Core_where_it_can_run()
    {
        if (!Expected) return;
        Assert.NotNull(NativeOps.LibraryPath);
        Assert.Equal(Path.GetDirectoryName(typeof(NativeOps).Assembly.Location), Path.GetDirectoryName(NativeOps.LibraryPath));
    }

    [Theory]
    [InlineData(32, 4, new[] { 2, 17, 1, 5 })]         // the fixture's shape: heads of 8; a one-token text
    [InlineData(48, 2, new[] { 33, 16 })]               // heads of 24: not a multiple of 16
    [InlineData(1024, 16, new[] { 300, 9, 130 })]      // BGE-M3's shape
    public void Each_text_attends_to_itself_within_int8_rounding(int hidden, int heads, int[] lengths)
    {
        if (!Expected) return;
        using var op = AttentionGraph.Build(hidden, heads);
        var qkv = Random(lengths.Sum() * 3 * hidden, seed: hidden + lengths.Length);
        var actual = op.Run(qkv, lengths);
        var expected = Reference(qkv, lengths, hidden, heads);
        // Whole-output cosine and worst element: a text or head boundary off by one, a wrong scale or a lost row fails
        // both by far; int8 rounding of Q, K, V and the probabilities stays well inside them.
        double dot = 0, aa = 0, bb = 0, worst = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            dot += actual[i] * expected[i];
            aa += actual[i] * (double)actual[i];
            bb += expected[i] * expected[i];
            worst = Math.Max(worst, Math.Abs(actual[i] - expected[i]));
        }
        Assert.True(dot / Math.Sqrt(aa * bb) > 0.9995, $"cosine {dot / Math.Sqrt(aa * bb)}");
        Assert.True(worst < 0.05, $"largest error {worst}");
    }

    [Fact]
    public void A_text_is_not_changed_by_its_neighbours()
    {
        if (!Expected) return;
        const int hidden = 64, heads = 4;
        using var op = AttentionGraph.Build(hidden, heads);
        int[] lengths = [7, 20, 11];
        var qkv = Random(lengths.Sum() * 3 * hidden, seed: 3);
        var before = op.Run(qkv, lengths);
        // New first and last texts; the middle one (rows 7..26) is the same.
        var other = Random(qkv.Length, seed: 4);
        Array.Copy(qkv, 7 * 3 * hidden, other, 7 * 3 * hidden, 20 * 3 * hidden);
        var after = op.Run(other, lengths);
        Assert.Equal(before.AsSpan(7 * hidden, 20 * hidden).ToArray(), after.AsSpan(7 * hidden, 20 * hidden).ToArray());
        Assert.NotEqual(before.AsSpan(0, 7 * hidden).ToArray(), after.AsSpan(0, 7 * hidden).ToArray());
    }

    [Fact]
    public void Text_ends_out_of_order_are_refused_with_the_operator_named()
    {
        if (!Expected) return;
        using var op = AttentionGraph.Build(32, 4);
        var e = Assert.Throws<OnnxRuntimeException>(() => op.Run(Random(10 * 96, 1), [10], ends: [6, 4]));
        Assert.Contains("PackedInt8Attention", e.Message);
    }

    private static float[] Random(int count, int seed)
    {
        var rng = new Random(seed);
        // Roughly normal, scale 1: scores of width-64 heads then spread over a few units, as trained models' do.
        return Enumerable.Range(0, count).Select(_ => (float)(rng.NextDouble() + rng.NextDouble() + rng.NextDouble() - 1.5) * 2f).ToArray();
    }

    private static double[] Reference(float[] qkv, int[] lengths, int hidden, int heads)
    {
        int d = hidden / heads, stride = 3 * hidden, start = 0;
        var output = new double[lengths.Sum() * hidden];
        foreach (var n in lengths)
        {
            for (int h = 0; h < heads; h++)
                for (int i = 0; i < n; i++)
                {
                    var scores = new double[n];
                    for (int j = 0; j < n; j++)
                    {
                        double s = 0;
                        for (int c = 0; c < d; c++) s += (double)qkv[(start + i) * stride + h * d + c] * qkv[(start + j) * stride + hidden + h * d + c];
                        scores[j] = s / Math.Sqrt(d);
                    }
                    var max = scores.Max();
                    var weights = scores.Select(s => Math.Exp(s - max)).ToArray();
                    var sum = weights.Sum();
                    for (int c = 0; c < d; c++)
                    {
                        double y = 0;
                        for (int j = 0; j < n; j++) y += weights[j] * qkv[(start + j) * stride + 2 * hidden + h * d + c];
                        output[(start + i) * hidden + h * d + c] = y / sum;
                    }
                }
            start += n;
        }
        return output;
    }

    /// <summary>The operator alone in a saved and loaded graph: qkv [1, tokens, 3·hidden] and text ends in, context out.</summary>
    private sealed class AttentionGraph : IDisposable
    {
        private readonly InferenceSession _session;
        private readonly int _hidden;

        private AttentionGraph(InferenceSession session, int hidden) => (_session, _hidden) = (session, hidden);

        public static AttentionGraph Build(int hidden, int heads)
        {
            var path = Path.Combine(Path.GetTempPath(), $"m3-int8-attention-{Guid.NewGuid():N}.onnx");
            try
            {
                using (var g = new GraphBuilder())
                {
                    var qkv = g.Input("qkv", DataType.Float, 1, "tokens", 3 * hidden);
                    var ends = g.Input("ends", DataType.Int64, "texts");
                    g.Output(g.PackedInt8Attention(qkv, ends, heads), "y");
                    g.Save(path);
                }
                using var options = new SessionOptions();
                return new AttentionGraph(NativeOps.CreateSession(path, options), hidden);
            }
            finally { File.Delete(path); }
        }

        public float[] Run(float[] qkv, int[] lengths, long[]? ends = null)
        {
            ends ??= lengths.Select((_, t) => (long)lengths.Take(t + 1).Sum()).ToArray();
            using var x = OrtValue.CreateTensorValueFromMemory(qkv, [1, qkv.Length / (3 * _hidden), 3 * _hidden]);
            using var e = OrtValue.CreateTensorValueFromMemory(ends, [ends.Length]);
            using var outputs = _session.Run(new RunOptions(), ["qkv", "ends"], [x, e], ["y"]);
            return outputs[0].GetTensorDataAsSpan<float>().ToArray();
        }

        public void Dispose() => _session.Dispose();
    }
}
