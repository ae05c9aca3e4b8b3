namespace M3.Retrieval.Evaluation;

/// <summary>
/// IR metrics as trec_eval / pytrec_eval (which BEIR uses) compute them: the run is ordered by score descending, ties by
/// document id descending; nDCG uses linear gains (the qrels grade) and log2(rank + 1) discounts, the ideal ranking
/// taken from the qrels; recall counts documents graded above 0; MRR is 1 / rank of the first such document.
/// </summary>
internal static class Metrics
{
    public static IReadOnlyList<string> Rank(IEnumerable<(string Id, double Score)> run) =>
        run.OrderByDescending(x => x.Score).ThenByDescending(x => x.Id, StringComparer.Ordinal).Select(x => x.Id).ToList();

    public static double Ndcg(IReadOnlyList<string> ranked, IReadOnlyDictionary<string, int> qrels, int k)
    {
        double dcg = 0;
        for (int i = 0; i < Math.Min(k, ranked.Count); i++)
            if (qrels.TryGetValue(ranked[i], out var g) && g > 0) dcg += g / Math.Log2(i + 2);
        var ideal = qrels.Values.Where(g => g > 0).OrderDescending().Take(k).ToList();
        double idcg = 0;
        for (int i = 0; i < ideal.Count; i++) idcg += ideal[i] / Math.Log2(i + 2);
        return idcg == 0 ? 0 : dcg / idcg;
    }

    public static double Recall(IReadOnlyList<string> ranked, IReadOnlyDictionary<string, int> qrels, int k)
    {
        int relevant = qrels.Values.Count(g => g > 0);
        if (relevant == 0) return 0;
        return ranked.Take(k).Count(id => qrels.TryGetValue(id, out var g) && g > 0) / (double)relevant;
    }

    public static double Mrr(IReadOnlyList<string> ranked, IReadOnlyDictionary<string, int> qrels, int k)
    {
        for (int i = 0; i < Math.Min(k, ranked.Count); i++)
            if (qrels.TryGetValue(ranked[i], out var g) && g > 0) return 1.0 / (i + 1);
        return 0;
    }
}
