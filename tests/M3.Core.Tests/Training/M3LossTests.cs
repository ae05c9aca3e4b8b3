using M3.Core.Training;

namespace M3.Core.Tests.Training;

/// <summary>
/// The loss on crafted representations where the sparse head is active: special ids (&lt;s&gt;, &lt;pad&gt;, &lt;/s&gt;,
/// &lt;unk&gt;) carry weight and must not count, a repeated id counts once at its largest weight, and the gradient
/// reaches only the positions that are that maximum. Checked against a float64 reference written here and against finite differences.
/// </summary>
public sealed class M3LossTests
{
    private const int H = 3;
    private static readonly TrainingObjective Objective = new() { Unified = true, Dropout = 0 };

    // Query: <s> 7 <unk> 9 7 </s>; passages share 7, 9, <unk> and </s> with it in different ways.
    private static readonly int[][] QueryIds = [[0, 7, 3, 9, 7, 2], [0, 11, 7, 2]];
    private static readonly int[][] PassageIds = [[0, 9, 7, 7, 3, 2], [0, 3, 2], [0, 11, 11, 5, 2], [0, 7, 9, 2]];

    [Fact]
    public void Sparse_scores_skip_special_ids_and_take_the_max_over_repeats()
    {
        var (queries, passages) = Texts(seed: 1);
        var (loss, qGrads, pGrads) = M3Loss.Compute(Batch(), queries, passages, H, Objective, 0);

        var reference = SparseScores(queries, passages);
        double expected = 0;
        for (int b = 0; b < 2; b++)
        {
            double logSum = Math.Log(Enumerable.Range(0, 4).Sum(j => Math.Exp(reference[b, j])));
            expected += (logSum - reference[b, b * 2]) / 2;
        }
        Assert.Equal(expected, loss.Sparse!.Value, 1e-9);

        // Special ids and non-maximal repeats get no gradient; the query's first 7 (weight 0.9) beats its second (0.4).
        foreach (var (text, grad) in queries.Zip(qGrads).Concat(passages.Zip(pGrads)))
            for (int t = 0; t < text.Ids.Length; t++)
                if (text.Ids[t] < 4 || text.Sparse[t] < MaxWeight(text, text.Ids[t]))
                    Assert.Equal(0, grad.Sparse[t]);
        Assert.NotEqual(0, qGrads[0].Sparse[1]);
        Assert.Equal(0, qGrads[0].Sparse[4]);
    }

    /// <summary>
    /// With self-distillation applied (the forward step after the start step): its teacher, softmax(ensemble), is
    /// detached, so the gradient is that of unified/2 + 0.1/6 · KL_sparse against the teacher held at the unperturbed
    /// weights; finite differences of exactly that (KL_sparse recomputed here in float64) must match.
    /// </summary>
    [Fact]
    public void Sparse_weight_gradients_match_finite_differences_with_self_distillation()
    {
        var (queries, passages) = Texts(seed: 2);
        var objective = Objective with { SelfDistill = true, SelfDistillStartStep = 0 };
        const int step = 1;
        var (loss, qGrads, pGrads) = M3Loss.Compute(Batch(), queries, passages, H, objective, step);
        Assert.NotNull(loss.SelfDistillSparse);
        var teacher = SelfTeacher(queries, passages);
        Assert.Equal(loss.SelfDistillSparse!.Value, SparseDistill(queries, passages, teacher), 1e-9);
        Assert.Equal(loss.Total, (loss.Unified!.Value + loss.Distill!.Value) / 2, 1e-12);

        double Detached() =>
            M3Loss.Compute(Batch(), queries, passages, H, objective, step).Loss.Unified!.Value / 2 + 0.1 / 6 * SparseDistill(queries, passages, teacher);
        foreach (var (text, grad) in queries.Zip(qGrads).Concat(passages.Zip(pGrads)))
            for (int t = 0; t < text.Ids.Length; t++)
            {
                float saved = text.Sparse[t];
                const float eps = 1e-3f;
                text.Sparse[t] = saved + eps;
                double plus = Detached();
                text.Sparse[t] = saved - eps;
                double minus = Detached();
                text.Sparse[t] = saved;
                double numeric = (plus - minus) / ((double)(saved + eps) - (saved - eps));
                Assert.True(Math.Abs(numeric - grad.Sparse[t]) <= 1e-3 * (Math.Abs(grad.Sparse[t]) + 1e-2), $"token {t} of {string.Join(",", text.Ids)}: {grad.Sparse[t]} vs {numeric}");
            }
    }

    /// <summary>Sparse scores B × B·G in float64: Σ over shared non-special ids of the max weights, over τ.</summary>
    private static double[,] SparseScores(TextRepresentation<float>[] queries, TextRepresentation<float>[] passages)
    {
        var scores = new double[queries.Length, passages.Length];
        for (int b = 0; b < queries.Length; b++)
            for (int j = 0; j < passages.Length; j++)
                for (int v = 4; v < 16; v++)
                    scores[b, j] += MaxWeight(queries[b], v) * MaxWeight(passages[j], v) / Objective.Temperature;
        return scores;
    }

    /// <summary>softmax(dense + 0.3·sparse + ColBERT) per query, from scores recomputed here.</summary>
    private static double[,] SelfTeacher(TextRepresentation<float>[] queries, TextRepresentation<float>[] passages)
    {
        var sparse = SparseScores(queries, passages);
        var teacher = new double[queries.Length, passages.Length];
        for (int b = 0; b < queries.Length; b++)
        {
            for (int j = 0; j < passages.Length; j++)
            {
                double dense = Dot(queries[b].Dense, 0, passages[j].Dense, 0), colbert = 0;
                int qVectors = queries[b].Ids.Length - 1, pVectors = passages[j].Ids.Length - 1;
                for (int i = 0; i < qVectors; i++)
                    colbert += Enumerable.Range(0, pVectors).Max(k => Dot(queries[b].Colbert, i * H, passages[j].Colbert, k * H));
                teacher[b, j] = (dense + colbert / qVectors) / Objective.Temperature + 0.3 * sparse[b, j];
            }
            double max = Enumerable.Range(0, passages.Length).Max(j => teacher[b, j]);
            double sum = Enumerable.Range(0, passages.Length).Sum(j => Math.Exp(teacher[b, j] - max));
            for (int j = 0; j < passages.Length; j++) teacher[b, j] = Math.Exp(teacher[b, j] - max) / sum;
        }
        return teacher;
    }

    /// <summary>KL_sparse = −mean_b Σ_j teacher[b,j]·log_softmax(sparse scores)[b,j], the teacher held fixed.</summary>
    private static double SparseDistill(TextRepresentation<float>[] queries, TextRepresentation<float>[] passages, double[,] teacher)
    {
        var scores = SparseScores(queries, passages);
        double loss = 0;
        for (int b = 0; b < queries.Length; b++)
        {
            double logSum = Math.Log(Enumerable.Range(0, passages.Length).Sum(j => Math.Exp(scores[b, j])));
            for (int j = 0; j < passages.Length; j++) loss -= teacher[b, j] * (scores[b, j] - logSum) / queries.Length;
        }
        return loss;
    }

    private static double Dot(float[] a, int aStart, float[] b, int bStart)
    {
        double sum = 0;
        for (int i = 0; i < H; i++) sum += (double)a[aStart + i] * b[bStart + i];
        return sum;
    }

    private static TrainingBatch Batch() => new(QueryIds, PassageIds, GroupSize: 2);

    private static double MaxWeight(TextRepresentation<float> text, int id) =>
        Enumerable.Range(0, text.Ids.Length).Where(t => text.Ids[t] == id).Select(t => (double)text.Sparse[t]).DefaultIfEmpty(0).Max();

    /// <summary>Unit dense and ColBERT vectors, and sparse weights that are clearly positive everywhere (specials included), distinct per position.</summary>
    private static (TextRepresentation<float>[], TextRepresentation<float>[]) Texts(int seed)
    {
        var random = new Random(seed);
        TextRepresentation<float> Make(int[] ids)
        {
            var r = new TextRepresentation<float>(ids, H, unified: true);
            Unit(r.Dense, random);
            for (int t = 0; t < ids.Length; t++) r.Sparse[t] = 0.1f + 0.1f * t + (float)random.NextDouble() * 0.05f;
            for (int t = 0; t + 1 < ids.Length; t++) Unit(r.Colbert.AsSpan(t * H, H), random);
            return r;
        }
        var queries = QueryIds.Select(Make).ToArray();
        queries[0].Sparse[1] = 0.9f; // the first 7 is the larger of the two
        queries[0].Sparse[4] = 0.4f;
        return (queries, [.. PassageIds.Select(Make)]);
    }

    private static void Unit(Span<float> v, Random random)
    {
        for (int i = 0; i < v.Length; i++) v[i] = (float)(random.NextDouble() * 2 - 1);
        float n = MathF.Sqrt(v.ToArray().Sum(x => x * x));
        for (int i = 0; i < v.Length; i++) v[i] /= n;
    }
}
