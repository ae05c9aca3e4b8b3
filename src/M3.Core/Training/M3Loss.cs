namespace M3.Core.Training;

/// <summary>
/// FlagEmbedding's <c>EncoderOnlyEmbedderM3Model</c> loss (modeling.py with AbsModeling.py's in-batch-negative loss and
/// distill_loss) and its gradient with respect to the representations, in float64, with ColBERT over real tokens only.
/// </summary>
internal static class M3Loss
{
    private const double EnsembleSparseWeight = 0.3, SparseLossWeight = 0.1;

    public static (LossParts Loss, TextRepresentation<double>[] QueryGrads, TextRepresentation<double>[] PassageGrads) Compute(
        TrainingBatch batch, TextRepresentation<float>[] queries, TextRepresentation<float>[] passages, int hidden,
        TrainingObjective objective, int forwardStep)
    {
        int rows = queries.Length, group = batch.GroupSize;
        if (passages.Length != rows * group) throw new ArgumentException($"{passages.Length} passages for {rows} queries of group size {group}");
        var teacher = objective.TeacherScores ? TeacherTargets(batch, rows, group) : null;
        var scores = new ScoreMatrices(queries, passages, hidden, objective.Temperature, objective.Unified);
        var qGrads = queries.Select(q => new TextRepresentation<double>(q.Ids, hidden, objective.Unified)).ToArray();
        var pGrads = passages.Select(p => new TextRepresentation<double>(p.Ids, hidden, objective.Unified)).ToArray();

        var dDense = new double[rows, rows * group];
        if (!objective.Unified)
        {
            double dense = KindLoss(scores.Dense, group, teacher, objective.KdLoss, dDense, 1);
            scores.Backward(dDense, null, null, qGrads, pGrads);
            return (new LossParts(dense, dense), qGrads, pGrads);
        }

        var ensemble = Combine(scores.Dense, scores.SparseScores!, scores.Colbert!);
        bool distill = objective.SelfDistill && forwardStep > objective.SelfDistillStartStep;
        // total = unified, or (unified + (KL_dense + 0.1·KL_sparse + KL_colbert)/3)/2 with self-distillation.
        double half = distill ? 0.5 : 1;
        var dSparse = new double[rows, rows * group];
        var dColbert = new double[rows, rows * group];
        var dEnsemble = new double[rows, rows * group];
        double lDense = KindLoss(scores.Dense, group, teacher, objective.KdLoss, dDense, half / 4);
        double lSparse = KindLoss(scores.SparseScores!, group, teacher, objective.KdLoss, dSparse, half * SparseLossWeight / 4);
        double lColbert = KindLoss(scores.Colbert!, group, teacher, objective.KdLoss, dColbert, half / 4);
        double lEnsemble = KindLoss(ensemble, group, teacher, objective.KdLoss, dEnsemble, half / 4);
        double unified = (lDense + lEnsemble + SparseLossWeight * lSparse + lColbert) / 4;
        double total = unified;
        double? sdDense = null, sdSparse = null, sdColbert = null;
        if (distill)
        {
            var selfTeacher = RowSoftmax(ensemble);
            sdDense = SelfDistill(scores.Dense, selfTeacher, dDense, half / 3);
            sdSparse = SelfDistill(scores.SparseScores!, selfTeacher, dSparse, half * SparseLossWeight / 3);
            sdColbert = SelfDistill(scores.Colbert!, selfTeacher, dColbert, half / 3);
            total = (unified + (sdDense.Value + SparseLossWeight * sdSparse.Value + sdColbert.Value) / 3) / 2;
        }
        // The ensemble's gradient flows into its three parts.
        for (int b = 0; b < rows; b++)
            for (int j = 0; j < rows * group; j++)
            {
                dDense[b, j] += dEnsemble[b, j];
                dSparse[b, j] += EnsembleSparseWeight * dEnsemble[b, j];
                dColbert[b, j] += dEnsemble[b, j];
            }
        scores.Backward(dDense, dSparse, dColbert, qGrads, pGrads);
        return (new LossParts(total, lDense, lSparse, lColbert, lEnsemble, unified, sdDense, sdSparse, sdColbert), qGrads, pGrads);
    }

    /// <summary>
    /// One score kind's loss (AbsModeling._compute_in_batch_neg_loss): cross-entropy with target column b·G; with teacher
    /// targets, m3_kd_loss (Σ_i mean_b T[b,i]·CE with the group's earlier columns removed, target b·G+i) or kl_div (KL over
    /// the query's own group plus the cross-entropy). Adds weight·(d loss / d scores) to <paramref name="gradient"/>.
    /// </summary>
    private static double KindLoss(double[,] scores, int group, double[,]? teacher, KdLossType kd, double[,] gradient, double weight)
    {
        int rows = scores.GetLength(0), columns = scores.GetLength(1);
        double loss = 0;
        var target = new double[columns];
        var excluded = new bool[columns];
        for (int b = 0; b < rows; b++)
        {
            if (teacher != null && kd == KdLossType.M3KdLoss)
            {
                Array.Clear(excluded);
                for (int i = 0; i < group; i++)
                {
                    loss += CrossEntropy(scores, b, OneHot(target, b * group + i), excluded, gradient, weight * teacher[b, i] / rows) * teacher[b, i] / rows;
                    excluded[b * group + i] = true;
                }
                continue;
            }
            if (teacher != null)
            {
                Array.Clear(target);
                for (int j = 0; j < columns; j++) excluded[j] = j / group != b;
                for (int i = 0; i < group; i++) target[b * group + i] = teacher[b, i];
                loss += CrossEntropy(scores, b, target, excluded, gradient, weight / rows) / rows;
            }
            Array.Clear(excluded);
            loss += CrossEntropy(scores, b, OneHot(target, b * group), excluded, gradient, weight / rows) / rows;
        }
        return loss;
    }

    /// <summary>−mean_b Σ_j T[b,j]·log_softmax(scores)[b,j] against the detached ensemble distribution (distill_loss "kl_div").</summary>
    private static double SelfDistill(double[,] scores, double[,] teacher, double[,] gradient, double weight)
    {
        int rows = scores.GetLength(0), columns = scores.GetLength(1);
        var target = new double[columns];
        var excluded = new bool[columns];
        double loss = 0;
        for (int b = 0; b < rows; b++)
        {
            for (int j = 0; j < columns; j++) target[j] = teacher[b, j];
            loss += CrossEntropy(scores, b, target, excluded, gradient, weight / rows) / rows;
        }
        return loss;
    }

    /// <summary>
    /// −Σ_j target[j]·log_softmax(row b over the columns not excluded)[j]; adds weight·(softmax·Σtarget − target) to the
    /// row's gradient. Removing a column is what FlagEmbedding's finfo.min mask does (its exp is 0).
    /// </summary>
    private static double CrossEntropy(double[,] scores, int b, double[] target, bool[] excluded, double[,] gradient, double weight)
    {
        int columns = scores.GetLength(1);
        double max = double.NegativeInfinity;
        for (int j = 0; j < columns; j++) if (!excluded[j]) max = Math.Max(max, scores[b, j]);
        double sum = 0;
        for (int j = 0; j < columns; j++) if (!excluded[j]) sum += Math.Exp(scores[b, j] - max);
        double logSum = max + Math.Log(sum), mass = 0, loss = 0;
        for (int j = 0; j < columns; j++)
        {
            if (excluded[j] || target[j] == 0) continue;
            loss -= target[j] * (scores[b, j] - logSum);
            mass += target[j];
        }
        for (int j = 0; j < columns; j++)
            if (!excluded[j]) gradient[b, j] += weight * (Math.Exp(scores[b, j] - logSum) * mass - target[j]);
        return loss;
    }

    private static double[] OneHot(double[] target, int column)
    {
        Array.Clear(target);
        target[column] = 1;
        return target;
    }

    private static double[,] Combine(double[,] dense, double[,] sparse, double[,] colbert)
    {
        var e = new double[dense.GetLength(0), dense.GetLength(1)];
        for (int b = 0; b < e.GetLength(0); b++)
            for (int j = 0; j < e.GetLength(1); j++)
                e[b, j] = dense[b, j] + EnsembleSparseWeight * sparse[b, j] + colbert[b, j];
        return e;
    }

    private static double[,] RowSoftmax(double[,] s)
    {
        int rows = s.GetLength(0), columns = s.GetLength(1);
        var p = new double[rows, columns];
        for (int b = 0; b < rows; b++)
        {
            double max = double.NegativeInfinity, sum = 0;
            for (int j = 0; j < columns; j++) max = Math.Max(max, s[b, j]);
            for (int j = 0; j < columns; j++) sum += p[b, j] = Math.Exp(s[b, j] - max);
            for (int j = 0; j < columns; j++) p[b, j] /= sum;
        }
        return p;
    }

    /// <summary>softmax of each query's teacher scores over its group, in float64.</summary>
    private static double[,] TeacherTargets(TrainingBatch batch, int rows, int group)
    {
        var scores = batch.TeacherScores ?? throw new ArgumentException("the objective uses teacher scores but the batch has none");
        if (scores.Length != rows * group) throw new ArgumentException($"{scores.Length} teacher scores for {rows}×{group} passages");
        var t = new double[rows, group];
        for (int b = 0; b < rows; b++)
            for (int i = 0; i < group; i++) t[b, i] = scores[b * group + i];
        return RowSoftmax(t);
    }
}
