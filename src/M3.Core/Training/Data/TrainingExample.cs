namespace M3.Core.Training.Data;

/// <summary>
/// One line of FlagEmbedding's training data: a query, its positives and negatives, and optionally a teacher score per
/// passage (<c>pos_scores</c>, <c>neg_scores</c>). <see cref="Source"/> is "file:line", for error messages.
/// </summary>
internal sealed record TrainingExample(
    string Query,
    IReadOnlyList<string> Positives,
    IReadOnlyList<string> Negatives,
    IReadOnlyList<float>? PositiveScores,
    IReadOnlyList<float>? NegativeScores,
    string Source);
