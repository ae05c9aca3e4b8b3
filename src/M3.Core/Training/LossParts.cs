namespace M3.Core.Training;

/// <summary>
/// The loss of one batch and its parts, named as in FlagEmbedding and <c>train_golden.json</c>; a part that a
/// configuration does not compute is null.
/// </summary>
internal sealed record LossParts(
    double Total,
    double Dense,
    double? Sparse = null,
    double? Colbert = null,
    double? Ensemble = null,
    double? Unified = null,
    double? SelfDistillDense = null,
    double? SelfDistillSparse = null,
    double? SelfDistillColbert = null)
{
    /// <summary>The self-distillation term (KL_dense + 0.1·KL_sparse + KL_colbert)/3, or null when it is off.</summary>
    public double? Distill => SelfDistillDense is { } d ? (d + 0.1 * SelfDistillSparse!.Value + SelfDistillColbert!.Value) / 3 : null;

    /// <summary>The parts under FlagEmbedding's and <c>train_golden.json</c>'s names; null where not computed.</summary>
    public Dictionary<string, double?> ByName() => new()
    {
        ["dense"] = Dense,
        ["sparse"] = Sparse,
        ["colbert"] = Colbert,
        ["ensemble"] = Ensemble,
        ["unified"] = Unified,
        ["self_distill_dense"] = SelfDistillDense,
        ["self_distill_sparse"] = SelfDistillSparse,
        ["self_distill_colbert"] = SelfDistillColbert,
        ["total"] = Total,
    };
}
