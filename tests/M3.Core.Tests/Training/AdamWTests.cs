using M3.Core.Training;
using M3.Core.Training.Optimization;

namespace M3.Core.Tests.Training;

public class AdamWTests
{
    // Three steps of torch.optim.AdamW's formulas (betas 0.9/0.999, eps 1e-8, weight decay 0.1 except on the bias),
    // evaluated once in float64 from the same gradients; step 0 runs at lr 0 (warmup), as transformers' schedule does.
    private static readonly double[] LearningRates = [0.0, 0.01, 0.005];

    private static readonly float[][] WeightGradients = [[1, -2, 0.5f, 0.25f], [-0.5f, 1, 0.2f, -0.1f], [0.1f, 0.1f, -0.3f, 0.6f]];
    private static readonly float[][] BiasGradients = [[0.3f, -0.1f], [0.05f, 0.2f], [-0.2f, 0]];
    private static readonly Dictionary<int, float[]>[] EmbeddingGradients =
    [
        new() { [1] = [0.2f, -0.5f], [3] = [1.0f, 0.4f] },
        new() { [0] = [0.3f, 0.3f] },
        new() { [1] = [-0.4f, 0.2f] },
    ];

    [Fact]
    public void Matches_torch_AdamW_with_weight_decay_warmup_and_row_sparse_embeddings()
    {
        var (weight, bias, embeddings) = Tensors();
        var adam = new AdamW([weight, bias, embeddings], new AdamWSettings { WeightDecay = 0.1 });
        for (var step = 0; step < 3; step++)
        {
            SetGradients(weight, bias, embeddings, step, rowSparse: true);
            adam.Step(LearningRates[step]);
        }

        AssertClose([0.4952781107187078, -0.2960025732232617, 0.7883413744172382, 0.09293470284712414], weight.Values);
        AssertClose([0.1913940142393732, -0.4050760303666373], bias.Values);
        AssertClose([0.08953630335823708, 0.1893863533582371, -0.30454720949029296, 0.4073143842964075,
            0.49925025, -0.5991002999999999, 0.6896633330270946, 0.040638008236518135], embeddings.Values);
        var moments = adam.Moments.Single(m => m.Tensor == embeddings);
        AssertClose([0.027, 0.027, -0.0238, -0.0205, 0, 0, 0.081, 0.0324], moments.ExpAvg);
        Assert.Equal(3, adam.StepCount);
    }

    [Fact]
    public void Row_sparse_update_is_bitwise_the_dense_update()
    {
        foreach (var decay in new[] { 0.0, 0.1 })
        {
            var (w1, b1, sparse) = Tensors();
            var (w2, b2, dense) = Tensors();
            var a = new AdamW([w1, b1, sparse], new AdamWSettings { WeightDecay = decay });
            var b = new AdamW([w2, b2, dense], new AdamWSettings { WeightDecay = decay });
            for (var step = 0; step < 3; step++)
            {
                SetGradients(w1, b1, sparse, step, rowSparse: true);
                SetGradients(w2, b2, dense, step, rowSparse: false);
                a.Step(LearningRates[step]);
                b.Step(LearningRates[step]);
                Assert.Equal(dense.Values, sparse.Values);
            }
        }
    }

    [Fact]
    public void Restored_moments_continue_exactly()
    {
        var (w1, b1, e1) = Tensors();
        var (w2, b2, e2) = Tensors();
        var straight = new AdamW([w1, b1, e1], new AdamWSettings());
        for (var step = 0; step < 3; step++)
        {
            SetGradients(w1, b1, e1, step, rowSparse: true);
            straight.Step(LearningRates[step]);
        }

        var first = new AdamW([w2, b2, e2], new AdamWSettings());
        SetGradients(w2, b2, e2, 0, rowSparse: true);
        first.Step(LearningRates[0]);
        SetGradients(w2, b2, e2, 1, rowSparse: true);
        first.Step(LearningRates[1]);
        var saved = first.Moments.ToDictionary(m => m.Tensor.Name, m => (m.ExpAvg.ToArray(), m.ExpAvgSq.ToArray()));
        var resumed = new AdamW([w2, b2, e2], new AdamWSettings());
        resumed.Restore(first.StepCount, (t, m, v) => { saved[t.Name].Item1.CopyTo(m, 0); saved[t.Name].Item2.CopyTo(v, 0); });
        SetGradients(w2, b2, e2, 2, rowSparse: true);
        resumed.Step(LearningRates[2]);

        Assert.Equal(e1.Values, e2.Values);
        Assert.Equal(w1.Values, w2.Values);
    }

    private static (TrainableTensor Weight, TrainableTensor Bias, TrainableTensor Embeddings) Tensors() =>
    (
        new TrainableTensor("layer.weight", [2, 2], [0.5f, -0.3f, 0.8f, 0.1f]),
        new TrainableTensor("layer.bias", [2], [0.2f, -0.4f]),
        new TrainableTensor("embeddings.word_embeddings.weight", [4, 2], [0.1f, 0.2f, -0.3f, 0.4f, 0.5f, -0.6f, 0.7f, 0.05f])
    );

    /// <summary>Writes step <paramref name="step"/>'s gradients; the embedding's either as listed rows or whole (zeros elsewhere).</summary>
    private static void SetGradients(TrainableTensor weight, TrainableTensor bias, TrainableTensor embeddings, int step, bool rowSparse)
    {
        WeightGradients[step].CopyTo(weight.Gradient, 0);
        BiasGradients[step].CopyTo(bias.Gradient, 0);
        Array.Clear(embeddings.Gradient);
        foreach (var (row, values) in EmbeddingGradients[step]) values.CopyTo(embeddings.Gradient, row * 2);
        embeddings.GradientRows = rowSparse ? EmbeddingGradients[step].Keys.ToArray() : null;
    }

    private static void AssertClose(double[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 2e-7 + 1e-6 * Math.Abs(expected[i]), $"[{i}] expected {expected[i]}, got {actual[i]}");
    }
}
