using M3.Core.Representations;
using M3.Core.Scoring;

namespace M3.Retrieval.Search;

/// <summary>
/// Ranks passages for a query embedding in each mode, then aggregates per document (max over its passages).
/// Every score is computed by <see cref="M3Scores"/>, so exact searches rank exactly as FlagEmbedding's scores do.
/// </summary>
internal static class Searcher
{
    private const int RrfK = 60;

    public static IReadOnlyList<SearchHit> Search(IndexSnapshot index, M3Embedding query, SearchOptions options)
    {
        if (options.TopK < 1) throw new ArgumentOutOfRangeException(nameof(options), options.TopK, "top-k must be at least 1");
        if (index.Count == 0) return [];
        var scores = options.Mode switch
        {
            SearchMode.Dense => DenseAll(index, query),
            SearchMode.Sparse => SparseScores(index, query, options),
            SearchMode.Colbert => Score(index, Candidates(index, query, options), p => M3Scores.Colbert(query.Colbert!, index.Colbert[p])),
            SearchMode.Hybrid => Score(index, Candidates(index, query, options), p => M3Scores.ColbertSparseDense(
                M3Scores.Dense(query.Dense, index.DenseRow(p)), M3Scores.Sparse(query.Sparse!, index.Sparse[p]),
                M3Scores.Colbert(query.Colbert!, index.Colbert[p]), options.Weights)),
            SearchMode.Rrf => Rrf(index, query, options),
            _ => throw new ArgumentOutOfRangeException(nameof(options), options.Mode, "unknown search mode"),
        };
        return Aggregate(index, scores, options.TopK);
    }

    private static Dictionary<int, float> DenseAll(IndexSnapshot index, M3Embedding query)
    {
        var q = query.Dense ?? throw new ArgumentException("the query has no dense vector");
        var scores = new Dictionary<int, float>(index.Count);
        for (int p = 0; p < index.Count; p++) scores[p] = M3Scores.Dense(q, index.DenseRow(p));
        return scores;
    }

    private static Dictionary<int, float> SparseScores(IndexSnapshot index, M3Embedding query, SearchOptions options)
    {
        var q = query.Sparse ?? throw new ArgumentException("the query has no sparse weights");
        // With several passages per document the top-k passages may hold fewer than k documents: score all passages.
        if (index.HasPassages) return Score(index, Enumerable.Range(0, index.Count), p => M3Scores.Sparse(q, index.Sparse[p]));
        return SparseWand.Search(index, q, options.TopK).ToDictionary(x => x.Passage, x => x.Score);
    }

    /// <summary>Passages to re-rank: all with Exact, else the union of the dense and sparse top candidates.</summary>
    private static IEnumerable<int> Candidates(IndexSnapshot index, M3Embedding query, SearchOptions options)
    {
        if (options.Exact || index.Count <= options.Candidates) return Enumerable.Range(0, index.Count);
        var dense = Top(DenseAll(index, query), options.Candidates).Select(x => x.Passage);
        var sparse = SparseWand.Search(index, query.Sparse!, options.Candidates).Select(x => x.Passage);
        return dense.Union(sparse).Order();
    }

    private static Dictionary<int, float> Score(IndexSnapshot index, IEnumerable<int> passages, Func<int, float> score) =>
        passages.ToDictionary(p => p, score);

    private static Dictionary<int, float> Rrf(IndexSnapshot index, M3Embedding query, SearchOptions options)
    {
        var candidates = Candidates(index, query, options).ToList();
        var rankings = new[]
        {
            Top(DenseAll(index, query), candidates.Count),
            Top(Score(index, candidates, p => M3Scores.Sparse(query.Sparse!, index.Sparse[p])), candidates.Count),
            Top(Score(index, candidates, p => M3Scores.Colbert(query.Colbert!, index.Colbert[p])), candidates.Count),
        };
        var fused = new Dictionary<int, float>();
        foreach (var ranking in rankings)
            for (int r = 0; r < ranking.Count; r++)
                fused[ranking[r].Passage] = fused.GetValueOrDefault(ranking[r].Passage) + 1f / (RrfK + r + 1);
        return fused;
    }

    private static List<(int Passage, float Score)> Top(Dictionary<int, float> scores, int k)
    {
        var top = new TopK(k);
        foreach (var (p, s) in scores) top.Offer(p, s);
        return top.Result();
    }

    /// <summary>
    /// Best passage per document, top k documents, ties broken by insertion order. Documents that were not scored
    /// (no shared token in sparse mode) rank after scored ones with score 0, in insertion order, as a full ranking would.
    /// </summary>
    private static List<SearchHit> Aggregate(IndexSnapshot index, Dictionary<int, float> scores, int k)
    {
        // One passage per document: a heap keeps the k best instead of sorting every score.
        if (!index.HasPassages && scores.Count > k)
        {
            var kept = Top(scores, k);
            if (kept.Count == k) scores = kept.ToDictionary(x => x.Passage, x => x.Score);
        }
        var best = new Dictionary<string, (float Score, int Passage)>();
        foreach (var (p, s) in scores)
        {
            var doc = index.DocIds[p];
            if (!best.TryGetValue(doc, out var b) || s > b.Score || (s == b.Score && p < b.Passage)) best[doc] = (s, p);
        }
        var hits = best.OrderByDescending(x => x.Value.Score).ThenBy(x => x.Value.Passage).Take(k).Select(x => new SearchHit(x.Key, x.Value.Score)).ToList();
        for (int p = 0; p < index.Count && hits.Count < k; p++)
        {
            var doc = index.DocIds[p];
            if (best.ContainsKey(doc)) continue;
            best[doc] = (0, p);
            hits.Add(new SearchHit(doc, 0));
        }
        return hits;
    }
}
