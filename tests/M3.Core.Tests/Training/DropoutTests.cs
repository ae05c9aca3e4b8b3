using M3.Core.Checkpoint;
using M3.Core.Training;
using M3.Tests;

namespace M3.Core.Tests.Training;

/// <summary>
/// Dropout masks are drawn per (seed, step, site, text, position): the GradCache re-run sees the representation pass'
/// masks (the gradient is the loss' derivative), splitting or padding the batch changes nothing, the step changes the masks.
/// </summary>
public sealed class DropoutTests
{
    private static readonly TrainGolden Golden = TrainGolden.Load();
    private static readonly TrainingObjective Objective =
        TrainGolden.Objective(Golden.Case("unified_self_distill").GetProperty("config")) with { Dropout = 0.1f, Seed = 5 };

    [Theory]
    [InlineData(0.1f)]
    [InlineData(0f)]
    public void Gradients_are_the_derivative_of_the_loss_with_dropout_on(float rate)
    {
        using var checkpoint = M3Checkpoint.Open(TestPaths.TinyM3);
        // Without self-distillation: its teacher is detached, so finite differences of the total would also see the teacher move.
        using var model = M3TrainingModel.Create(checkpoint, Objective with { Dropout = rate, SelfDistill = false });
        var batch = Golden.Batch(0);
        model.ComputeGradients(batch, 3);
        foreach (var name in new[] { "encoder.layer.1.output.dense.bias", "encoder.layer.0.attention.self.value.weight", "sparse_linear.weight" })
        {
            var p = model.Parameters.Single(t => t.Name == name);
            int i = Enumerable.Range(0, p.Gradient.Length).MaxBy(k => Math.Abs(p.Gradient[k]));
            double analytic = p.Gradient[i];
            float saved = p.Values[i];
            const float eps = 1e-3f;
            p.Values[i] = saved + eps;
            double plus = model.ComputeGradients(batch, 3).Total;
            p.Values[i] = saved - eps;
            double minus = model.ComputeGradients(batch, 3).Total;
            p.Values[i] = saved;
            double numeric = (plus - minus) / (2 * eps);
            Assert.True(Math.Abs(numeric - analytic) <= 2e-2 * Math.Abs(analytic), $"{name}[{i}]: analytic {analytic:G6}, finite differences {numeric:G6}");
        }
    }

    [Fact]
    public void Sub_batches_draw_the_same_masks_as_the_whole_batch()
    {
        var (whole, wholeGrad) = Run(Objective, 4);
        var (split, splitGrad) = Run(Objective with { SubBatchSize = 3 }, 4);
        var (noDropout, _) = Run(Objective with { Dropout = 0 }, 4);
        var (otherStep, _) = Run(Objective, 5);
        Assert.Equal(whole, split, 1e-5);
        Assert.True(Math.Abs(whole - noDropout) > 1e-3, "dropout changed nothing");
        Assert.True(Math.Abs(whole - otherStep) > 1e-3, "the next step drew the same masks");
        double norm = Math.Sqrt(wholeGrad.Sum(v => (double)v * v)), diff = Math.Sqrt(wholeGrad.Zip(splitGrad, (a, b) => ((double)a - b) * (a - b)).Sum());
        Assert.True(diff <= 1e-5 * norm, $"relative difference {diff / norm:G3}");
    }

    [Fact]
    public void Masks_drop_the_given_fraction()
    {
        var mask = DropoutMasks.Attention(DropoutMasks.SiteKey(1, 0, 0), 0, 4, 4, 64, 0.1f);
        double dropped = mask.Count(k => !k) / (double)mask.Length;
        Assert.InRange(dropped, 0.095, 0.105);
    }

    private static (double Loss, float[] Gradient) Run(TrainingObjective objective, int step)
    {
        using var checkpoint = M3Checkpoint.Open(TestPaths.TinyM3);
        using var model = M3TrainingModel.Create(checkpoint, objective);
        var loss = model.ComputeGradients(Golden.Batch(0), step);
        return (loss.Total, [.. model.Parameters.Where(p => !p.Name.Contains("key.bias")).SelectMany(p => p.Gradient)]);
    }
}
