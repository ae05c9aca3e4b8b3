using M3.Core.Checkpoint;
using M3.Core.Training;
using M3.Tests;

namespace M3.Core.Tests.Training;

/// <summary>
/// The engine's gradient through relu(sparse_linear(h)) against central finite differences of its own loss, on the
/// fixture with its sparse head made active (the fixture's own head is nearly inactive, so the golden checks little of
/// this path) and a crafted batch whose queries share tokens with their passages, special ids included.
/// </summary>
/// <remarks>
/// The loss is only piecewise smooth in the head: a token crossing relu's zero, or two repeats of an id swapping which
/// is the maximum, is a kink that central differences straddle. So the head is scaled to weights far from zero (bias
/// 0.3, the fixture's weight × 0.01: the spread of w·h stays well below 0.3) and no text repeats an id; the loss part
/// that takes the maximum over repeats is checked on its own in <see cref="M3LossTests"/>.
/// </remarks>
public sealed class SparseHeadGradientTests
{
    // Ids of the fixture's vocabulary: queries share 500/600/700/800 with some passages; 3 is <unk>, which must not count.
    private static readonly int[][] Queries = [[0, 500, 600, 3, 2], [0, 700, 800, 2]];
    private static readonly int[][] Passages = [[0, 600, 500, 900, 2], [0, 700, 500, 2], [0, 800, 700, 3, 2], [0, 600, 1000, 2]];

    // Unified loss without self-distillation: with it, the teacher (the ensemble's softmax) is detached as in
    // FlagEmbedding, so a finite difference of the total, which moves the teacher too, is not the gradient.
    [Fact]
    public void Sparse_head_gradients_match_finite_differences()
    {
        using var checkpoint = M3Checkpoint.Open(TestPaths.TinyM3);
        using var model = M3TrainingModel.Create(checkpoint, new TrainingObjective { Unified = true, Dropout = 0 });
        var weight = model.Parameters.Single(p => p.Name == "sparse_linear.weight");
        var bias = model.Parameters.Single(p => p.Name == "sparse_linear.bias");
        // Token weights near 0.3: every token in relu's active region, about 4.5 logits per shared token at τ = 0.02.
        for (int i = 0; i < weight.Values.Length; i++) weight.Values[i] *= 0.01f;
        bias.Values[0] = 0.3f;
        var batch = new TrainingBatch(Queries, Passages, GroupSize: 2);

        var loss = model.ComputeGradients(batch, forwardStep: 1);
        Assert.True(loss.Sparse is > 0.01, $"sparse loss {loss.Sparse}: the crafted batch should make sparse scores matter");
        float[] analyticWeight = [.. weight.Gradient], analyticBias = [.. bias.Gradient];
        Assert.True(analyticBias[0] != 0, "no gradient reaches the sparse bias although the head is active");

        const float eps = 1e-3f;
        double Numeric(float[] values, int i)
        {
            float saved = values[i];
            values[i] = saved + eps;
            double plus = model.ComputeGradients(batch, 1).Total;
            values[i] = saved - eps;
            double minus = model.ComputeGradients(batch, 1).Total;
            values[i] = saved;
            return (plus - minus) / (2 * eps);
        }

        // float32 engine: the loss (a few units) is exact to ~1e-6, so the numeric derivative to ~1e-3 at this eps.
        static bool Close(double numeric, float analytic) => Math.Abs(numeric - analytic) <= 1e-2 * Math.Abs(analytic) + 2e-3;
        double nb = Numeric(bias.Values, 0);
        Assert.True(Close(nb, analyticBias[0]), $"bias: analytic {analyticBias[0]} vs numeric {nb}");
        for (int i = 0; i < weight.Values.Length; i++)
        {
            double n = Numeric(weight.Values, i);
            Assert.True(Close(n, analyticWeight[i]), $"weight[{i}]: analytic {analyticWeight[i]} vs numeric {n}");
        }
    }
}
