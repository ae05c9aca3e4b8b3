using System.Text.Json;
using M3.Cli.Commands;
using M3.Core.Checkpoint;
using M3.Tests;

namespace M3.Cli.Tests;

/// <summary>
/// <c>m3 train</c> end to end on the engine against <c>train_golden</c>: the first batch's loss parts and gradients for
/// the four configurations (--gradients-only), and the 3-step AdamW trajectory (--log-json and the saved model), at the
/// golden's bounds: loss 1e-4·max(1,|L|), gradients and final parameters 1e-3 relative L2, the update p − p0 1e-2.
/// </summary>
[Collection("Console")]
public sealed class TrainGoldenTests
{
    private static readonly string Golden = Path.Combine(TestPaths.TinyM3, "train_golden");

    // The golden's batches: file order, pos[0] and neg[0..2], 2 queries per batch, lengths 64/256, no dropout.
    private static readonly string[] Common =
    [
        "--model", TestPaths.TinyM3, "--data", Golden + ".train.jsonl", "--no-shuffle", "--dropout", "0",
        "--group-size", "4", "--batch-size", "2", "--query-max-len", "64", "--passage-max-len", "256",
    ];

    [Theory]
    [InlineData("unified_self_distill", "--self-distill --self-distill-start-step -1")]
    [InlineData("unified_no_distill", "")]
    [InlineData("teacher_scores", "--self-distill --self-distill-start-step -1 --teacher-scores --kd-loss m3_kd_loss")]
    [InlineData("dense_only", "--dense-only")]
    public void Gradients_only_match_the_golden(string name, string flags)
    {
        var prefix = Path.Combine(TestPaths.NewTempDir(), name);
        var (code, _, stderr) = CliRun.Invoke(TrainCommand.Create(), [.. Common, .. flags.Split(' ', StringSplitOptions.RemoveEmptyEntries), "--gradients-only", prefix]);
        Assert.True(code == 0, stderr);

        using var golden = JsonDocument.Parse(File.ReadAllText(Golden + ".json"));
        var expected = golden.RootElement.GetProperty("cases").GetProperty(name);
        using var actual = JsonDocument.Parse(File.ReadAllText(prefix + ".json"));
        var goldenParts = expected.GetProperty("loss").GetProperty("real_tokens").EnumerateObject().ToList();
        Assert.Equal(goldenParts.Select(p => p.Name).Order(), actual.RootElement.EnumerateObject().Select(p => p.Name).Order());
        foreach (var part in goldenParts)
            AssertLoss(part.Value.GetDouble(), actual.RootElement.GetProperty(part.Name).GetDouble(), $"{name} {part.Name}");

        using var goldenGrads = SafetensorsFile.Open(Golden + ".grads.safetensors");
        using var grads = SafetensorsFile.Open(prefix + ".safetensors");
        var names = expected.GetProperty("grads").EnumerateObject().ToList();
        foreach (var tensor in names)
        {
            var shape = tensor.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()).ToArray();
            var g = Dense(goldenGrads, $"{name}/{tensor.Name}", shape)!;
            var c = Dense(grads, tensor.Name, shape);
            var norm = L2(g);
            if (norm < 1e-12) Assert.True(c == null || L2(c) < 1e-6, $"{name}/{tensor.Name}: golden is zero");
            else Assert.True(c != null && L2(g.Zip(c, (a, b) => a - b).ToArray()) / norm <= 1e-3, $"{name}/{tensor.Name}: gradient differs");
        }
        var known = names.Select(n => n.Name).ToHashSet();
        Assert.All(grads.Tensors.Keys, k => Assert.Contains(k.Replace(".rows", "").Replace(".values", ""), known));
    }

    [Fact]
    public void Three_step_trajectory_matches_the_golden()
    {
        var dir = TestPaths.NewTempDir();
        var (output, log) = (Path.Combine(dir, "out"), Path.Combine(dir, "log.jsonl"));
        var (code, _, stderr) = CliRun.Invoke(TrainCommand.Create(), [.. Common, "--self-distill", "--self-distill-start-step", "0", "--lr", "1e-3",
            "--warmup-steps", "1", "--max-steps", "3", "--log-json", log, "--output", output]);
        Assert.True(code == 0, stderr);

        using var golden = JsonDocument.Parse(File.ReadAllText(Golden + ".json"));
        var trajectory = golden.RootElement.GetProperty("trajectory");
        var steps = File.ReadAllLines(log).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var expectedSteps = trajectory.GetProperty("steps").EnumerateArray().ToList();
        Assert.Equal(expectedSteps.Count, steps.Count);
        foreach (var (e, a) in expectedSteps.Zip(steps))
        {
            AssertLoss(e.GetProperty("loss").GetDouble(), a.GetProperty("loss").GetDouble(), $"step {e.GetProperty("step")}");
            var norm = e.GetProperty("grad_norm").GetDouble();
            Assert.True(Math.Abs(a.GetProperty("grad_norm").GetDouble() - norm) / norm <= 1e-3, $"step {e.GetProperty("step")} grad norm");
            Assert.Equal(e.GetProperty("lr").GetDouble(), a.GetProperty("lr").GetDouble(), 12);
        }
        Assert.Equal(JsonValueKind.Null, steps[0].GetProperty("loss_distill").ValueKind);
        Assert.Equal(JsonValueKind.Number, steps[1].GetProperty("loss_distill").ValueKind);

        using var goldenTensors = SafetensorsFile.Open(Golden + ".grads.safetensors");
        using var trained = M3Checkpoint.Open(output);
        foreach (var name in trajectory.GetProperty("final_tensors").EnumerateArray().Select(n => n.GetString()!))
        {
            var final = goldenTensors.Read("trajectory/final/" + name).Data;
            var initial = goldenTensors.Read("trajectory/initial/" + name).Data;
            var actual = name switch
            {
                "colbert_linear.weight" => trained.ColbertLinear.Weight.Data,
                "colbert_linear.bias" => trained.ColbertLinear.Bias.Data,
                "sparse_linear.weight" => trained.SparseLinear.Weight.Data,
                "sparse_linear.bias" => trained.SparseLinear.Bias.Data,
                _ => trained.ReadEncoderTensor(name).Data,
            };
            Assert.True(L2(final.Zip(actual, (a, b) => (double)a - b).ToArray()) / L2(final) <= 1e-3, $"{name}: final parameters differ");
            var update = final.Zip(initial, (a, b) => (double)a - b).ToArray();
            var ours = actual.Zip(initial, (a, b) => (double)a - b).ToArray();
            Assert.True(L2(update.Zip(ours, (a, b) => a - b).ToArray()) / L2(update) <= 1e-2, $"{name}: update differs");
        }
    }

    private static void AssertLoss(double expected, double actual, string what) =>
        Assert.True(Math.Abs(expected - actual) <= 1e-4 * Math.Max(1, Math.Abs(expected)), $"{what}: {actual} vs golden {expected}");

    /// <summary>A tensor as a dense float64 array, whole or from NAME.rows + NAME.values; null when absent.</summary>
    private static double[]? Dense(SafetensorsFile file, string name, int[] shape)
    {
        if (file.Tensors.ContainsKey(name)) return file.Read(name).Data.Select(v => (double)v).ToArray();
        if (!file.Tensors.ContainsKey(name + ".rows")) return null;
        var width = shape[1];
        var dense = new double[shape[0] * width];
        var rows = file.Read(name + ".rows").Data;
        var values = file.Read(name + ".values").Data;
        for (var i = 0; i < rows.Length; i++)
            for (var j = 0; j < width; j++) dense[(int)rows[i] * width + j] = values[i * width + j];
        return dense;
    }

    private static double L2(IEnumerable<double> values) => Math.Sqrt(values.Sum(v => v * v));

    private static double L2(IEnumerable<float> values) => L2(values.Select(v => (double)v));
}
