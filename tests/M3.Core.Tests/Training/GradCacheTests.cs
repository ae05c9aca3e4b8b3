using M3.Core.Checkpoint;
using M3.Core.Training;
using M3.Tests;

namespace M3.Core.Tests.Training;

/// <summary>Sub-batching (GradCache) and padding do not change the loss or the gradients.</summary>
public sealed class GradCacheTests
{
    private static readonly TrainGolden Golden = TrainGolden.Load();

    /// <summary>A sub-batch size beyond the batch: one pass (the batch is within the default token budget).</summary>
    private const int Whole = 1000;

    [Theory]
    [InlineData(1, TrainingObjective.DefaultPassTokenBudget)] // every text alone: no padding at all
    [InlineData(null, 40)] // the engine's own split by its token budget (a few texts per pass)
    [InlineData(3, TrainingObjective.DefaultPassTokenBudget)] // sub-batches that mix queries and passages of different lengths
    [InlineData(4, 40)] // both limits
    public void Sub_batches_give_the_whole_batch_loss_and_gradients(int? subBatchSize, int passTokens)
    {
        var objective = TrainGolden.Objective(Golden.Case("unified_self_distill").GetProperty("config"));
        var (wholeLoss, whole) = Run(objective with { SubBatchSize = Whole });
        var (splitLoss, split) = Run(objective with { SubBatchSize = subBatchSize, PassTokenBudget = passTokens });

        Assert.Equal(wholeLoss.Total, splitLoss.Total, 1e-5);
        Assert.Equal(wholeLoss.Colbert!.Value, splitLoss.Colbert!.Value, 1e-5);
        Assert.Equal(wholeLoss.Sparse!.Value, splitLoss.Sparse!.Value, 1e-5);
        foreach (var (name, g) in whole)
        {
            var s = split[name];
            double norm = Math.Sqrt(g.Sum(v => (double)v * v)), diff = Math.Sqrt(g.Zip(s, (a, b) => ((double)a - b) * (a - b)).Sum());
            // The key biases' gradients are zero but for float32 rounding (softmax ignores a constant added to a row): an absolute bound for them.
            Assert.True(diff <= 1e-5 * norm + 1e-6, $"{name}: difference {diff:G3}, norm {norm:G3}");
        }
    }

    [Fact]
    public void A_second_batch_leaves_no_embedding_rows_of_the_first()
    {
        var objective = TrainGolden.Objective(Golden.Case("unified_no_distill").GetProperty("config"));
        using var checkpoint = M3Checkpoint.Open(TestPaths.TinyM3);
        using var model = M3TrainingModel.Create(checkpoint, objective);
        model.ComputeGradients(Golden.Batch(1), 0);
        model.ComputeGradients(Golden.Batch(0), 0);
        var (_, fresh) = Run(objective);
        foreach (var p in model.Parameters)
            Assert.True(p.Gradient.AsSpan().SequenceEqual(fresh[p.Name]), $"{p.Name} differs from a fresh model's gradient");
    }

    [Theory]
    [InlineData(new[] { 0 }, "passage 1 of the batch has 1 token(s)")]
    [InlineData(new[] { 0, 16002, 2 }, "token id 16002, outside the model's vocabulary of 16002")]
    public void Bad_texts_are_refused_with_what_is_wrong(int[] text, string message)
    {
        using var checkpoint = M3Checkpoint.Open(TestPaths.TinyM3);
        using var model = M3TrainingModel.Create(checkpoint, new TrainingObjective { Dropout = 0 });
        var batch = new TrainingBatch([[0, 5, 2]], [[0, 6, 2], text], GroupSize: 2);
        Assert.Contains(message, Assert.Throws<ArgumentException>(() => model.ComputeGradients(batch, 0)).Message);
    }

    private static (LossParts, Dictionary<string, float[]>) Run(TrainingObjective objective)
    {
        using var checkpoint = M3Checkpoint.Open(TestPaths.TinyM3);
        using var model = M3TrainingModel.Create(checkpoint, objective);
        var loss = model.ComputeGradients(Golden.Batch(0), 0);
        return (loss, model.Parameters.ToDictionary(p => p.Name, p => (float[])p.Gradient.Clone()));
    }
}
