using System.Text.Json;
using M3.Core.Checkpoint;
using M3.Core.Training;
using M3.Tests;

namespace M3.Core.Tests.Training;

/// <summary>
/// The engine against train_golden.json (FlagEmbedding's loss in float64, real-token ColBERT): on batch 0 of the
/// fixture checkpoint, every loss part within 1e-4·max(1,|L|) and every tensor's gradient within 1e-3 relative L2.
/// </summary>
public sealed class TrainGoldenTests
{
    private static readonly TrainGolden Golden = TrainGolden.Load();

    [Theory]
    [InlineData("unified_self_distill")]
    [InlineData("unified_no_distill")]
    [InlineData("teacher_scores")]
    [InlineData("dense_only")]
    public void Loss_parts_and_gradients_match_the_golden(string caseName)
    {
        var c = Golden.Case(caseName);
        using var checkpoint = M3Checkpoint.Open(TestPaths.TinyM3);
        using var model = M3TrainingModel.Create(checkpoint, TrainGolden.Objective(c.GetProperty("config")));
        var loss = model.ComputeGradients(Golden.Batch(0), c.GetProperty("config").GetProperty("step").GetInt32());

        var expected = c.GetProperty("loss").GetProperty("real_tokens");
        var actual = loss.ByName();
        foreach (var part in expected.EnumerateObject())
        {
            Assert.True(actual[part.Name].HasValue, $"{part.Name} missing");
            double g = part.Value.GetDouble();
            Assert.True(Math.Abs(actual[part.Name]!.Value - g) <= 1e-4 * Math.Max(1, Math.Abs(g)), $"{part.Name}: {actual[part.Name]} vs {g}");
        }
        foreach (var (name, value) in actual)
            if (!expected.TryGetProperty(name, out _)) Assert.True(value == null || name is "unified" && !loss.Sparse.HasValue, $"{name} computed but not in the golden");

        var grads = c.GetProperty("grads");
        foreach (var p in model.Parameters)
        {
            Assert.True(grads.TryGetProperty(p.Name, out var info), $"{p.Name} gets a gradient but the golden has none");
            var golden = Golden.Gradient($"{caseName}/{p.Name}", [.. info.GetProperty("shape").EnumerateArray().Select(x => x.GetInt32())])!;
            double ns = Norm(golden), diff = Math.Sqrt(golden.Select((g, i) => (g - p.Gradient[i]) * (g - p.Gradient[i])).Sum());
            if (ns < 1e-12) Assert.True(Norm(p.Gradient) < 1e-6, $"{p.Name}: golden is zero, ours {Norm(p.Gradient)}");
            else Assert.True(diff / ns <= 1e-3, $"{p.Name}: relative error {diff / ns:G3}");
            if (p.GradientRows is { } rows)
                for (int r = 0; r < p.Shape[0]; r++)
                    if (Array.BinarySearch(rows, r) < 0)
                        Assert.True(p.Gradient.AsSpan(r * p.RowLength, p.RowLength).IndexOfAnyExcept(0f) < 0, $"{p.Name}: row {r} is outside GradientRows but not zero");
        }
        // Every tensor the golden has a non-zero gradient for is trained.
        var trained = model.Parameters.Select(p => p.Name).ToHashSet();
        foreach (var g in grads.EnumerateObject())
            if (!trained.Contains(g.Name)) Assert.True(g.Value.GetProperty("l2").GetDouble() < 1e-12, $"{g.Name} is not trained");
    }

    private static double Norm(double[] x) => Math.Sqrt(x.Sum(v => v * v));
    private static double Norm(float[] x) => Math.Sqrt(x.Sum(v => (double)v * v));
}
