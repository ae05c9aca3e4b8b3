using M3.Core.Checkpoint;
using M3.Core.Training;

namespace M3.Core.Tests.Training;

/// <summary>
/// A stand-in engine with a loss whose gradient is known in closed form, over a real checkpoint's tensors (so the loop,
/// its checkpoints and the model writer see BGE-M3's names and shapes): for every token t of the batch (with
/// multiplicity) ½‖E[t] − 0.1‖² on the word embeddings, plus ½·(tokens/100)·‖w‖² on every other tensor. The word
/// embeddings report <see cref="TrainableTensor.GradientRows"/>, so the row-sparse optimizer path is exercised.
/// Like the engine, it trains no heads when not unified and only the heads with FixEncoder.
/// </summary>
internal sealed class AnalyticGradientModel : IGradientModel
{
    public const string Embeddings = "embeddings.word_embeddings.weight";

    private readonly TrainableTensor? _embeddings;

    public AnalyticGradientModel(string checkpointDirectory, TrainingObjective objective)
    {
        Objective = objective;
        using var checkpoint = M3Checkpoint.Open(checkpointDirectory);
        var tensors = objective.FixEncoder ? [] : checkpoint.EncoderTensors.Select(s => checkpoint.ReadEncoderTensor(s.Name)).ToList();
        if (objective.Unified)
        {
            tensors.Add(checkpoint.ColbertLinear.Weight with { Name = "colbert_linear.weight" });
            tensors.Add(checkpoint.ColbertLinear.Bias with { Name = "colbert_linear.bias" });
            tensors.Add(checkpoint.SparseLinear.Weight with { Name = "sparse_linear.weight" });
            tensors.Add(checkpoint.SparseLinear.Bias with { Name = "sparse_linear.bias" });
        }
        Parameters = tensors.Select(t => new TrainableTensor(t.Name, t.Shape, t.Data)).ToList();
        _embeddings = Parameters.SingleOrDefault(p => p.Name == Embeddings);
    }

    public TrainingObjective Objective { get; }

    public IReadOnlyList<TrainableTensor> Parameters { get; }

    /// <summary>The forward-step counters the loop passed, in call order.</summary>
    public List<int> ForwardSteps { get; } = [];

    public List<TrainingBatch> Batches { get; } = [];

    public LossParts ComputeGradients(TrainingBatch batch, int forwardStep, CancellationToken cancellationToken = default)
    {
        ForwardSteps.Add(forwardStep);
        Batches.Add(batch);
        var ids = batch.Queries.Concat(batch.Passages).SelectMany(x => x).ToList();
        double loss = _embeddings == null ? 0 : EmbeddingLoss(_embeddings, ids);
        var scale = ids.Count / 100f;
        foreach (var p in Parameters.Where(p => p != _embeddings))
            for (var i = 0; i < p.Values.Length; i++)
            {
                loss += 0.5 * scale * p.Values[i] * p.Values[i];
                p.Gradient[i] = scale * p.Values[i];
            }
        return new LossParts(loss, loss);
    }

    private static double EmbeddingLoss(TrainableTensor embeddings, List<int> ids)
    {
        var width = embeddings.RowLength;
        if (embeddings.GradientRows is { } previous)
            foreach (var r in previous) Array.Clear(embeddings.Gradient, r * width, width);
        double loss = 0;
        foreach (var id in ids)
            for (var j = 0; j < width; j++)
            {
                var d = embeddings.Values[id * width + j] - 0.1f;
                loss += 0.5 * d * d;
                embeddings.Gradient[id * width + j] += d;
            }
        embeddings.GradientRows = ids.Distinct().Order().ToArray();
        return loss;
    }

    public void Dispose()
    {
    }
}
