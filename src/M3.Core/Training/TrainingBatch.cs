namespace M3.Core.Training;

/// <summary>
/// One optimizer step's data: <c>B</c> queries, each with <see cref="GroupSize"/> passages (its positive first, then its
/// negatives), already tokenized and truncated (<c>&lt;s&gt;</c> … <c>&lt;/s&gt;</c>). <see cref="Passages"/> holds the
/// groups in query order, so query b's positive is passage <c>b·GroupSize</c>.
/// </summary>
/// <param name="TeacherScores">The data's <c>pos_scores</c>/<c>neg_scores</c>, <c>B·GroupSize</c> values in passage order, or null.</param>
internal sealed record TrainingBatch(IReadOnlyList<int[]> Queries, IReadOnlyList<int[]> Passages, int GroupSize, float[]? TeacherScores = null)
{
    public int QueryCount => Queries.Count;

    /// <summary>Real tokens in the batch (queries and passages), for throughput reports.</summary>
    public long TokenCount => Queries.Sum(q => (long)q.Length) + Passages.Sum(p => (long)p.Length);
}
