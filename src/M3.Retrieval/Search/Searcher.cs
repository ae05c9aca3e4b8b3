using M3.Core.Representations;
using M3.Core.Scoring;
using PassageRow = M3.Retrieval.Storage.IndexStore.PassageRow;

namespace M3.Retrieval.Search;

/// <summary>
/// Ranks passages for a query embedding in each mode, then aggregates per document (max over its passages). Dense
/// candidates come from the HNSW graph and sparse ones from block-max WAND; every reported score is computed by
/// <see cref="M3Scores"/> from the stored vectors, so exact searches (and approximate ones whose candidates cover the
/// answer) rank exactly as FlagEmbedding's scores do.
/// </summary>
internal static class Searcher
{
    private const int RrfK = 60, MaxPrefetch = 2048;

    public static IReadOnlyList<SearchHit> Search(SearchContext context, M3Embedding query, SearchOptions options)
    {
        if (options.TopK < 1) throw new ArgumentOutOfRangeException(nameof(options), options.TopK, "top-k must be at least 1");
        bool hasColbert = context.ColbertPrecision != ColbertPrecision.None;
        if (options.Mode == SearchMode.Colbert && !hasColbert)
            throw new IndexException("this index was built without ColBERT vectors (--no-colbert): use --mode dense, sparse, hybrid (dense+sparse) or rrf");
        if (context.Snapshot.LiveCount == 0) return [];
        var scores = options.Mode switch
        {
            SearchMode.Dense => DenseScores(context, Dense(query), options),
            SearchMode.Sparse => SparseScores(context, Sparse(query), options),
            SearchMode.Colbert => Rescore(context, Candidates(context, query, options), (row, ctx) =>
                ctx.ColbertScore(Colbert(query), row), colbert: true),
            SearchMode.Hybrid => Rescore(context, Candidates(context, query, options), (row, ctx) =>
            {
                float d = M3Scores.Dense(Dense(query), ctx.DenseRow(row)), s = M3Scores.Sparse(Sparse(query), ctx.Sparse(row));
                return hasColbert
                    ? M3Scores.ColbertSparseDense(d, s, ctx.ColbertScore(Colbert(query), row), options.Weights)
                    : M3Scores.SparseDense(d, s, options.Weights);
            }, colbert: hasColbert),
            SearchMode.Rrf => Rrf(context, query, options, hasColbert),
            _ => throw new ArgumentOutOfRangeException(nameof(options), options.Mode, "unknown search mode"),
        };
        Action<PassageRow, float>? verify = options.Mode switch
        {
            SearchMode.Dense => (row, _) => context.VerifyDense(row),
            SearchMode.Sparse => (row, score) =>
            {
                if (M3Scores.Sparse(Sparse(query), context.Sparse(row)) != score)
                    throw new IndexException($"{context.Snapshot.Base?.Postings.Path}: postings disagree with document '{row.DocId}''s stored weights; the file is damaged: delete the index folder's base.* files and they are rebuilt from index.db");
            }
            ,
            _ => null,
        };
        return Aggregate(context, scores, options.TopK, verify);
    }

    private static float[] Dense(M3Embedding q) => q.Dense ?? throw new ArgumentException("the query has no dense vector");
    private static SparseVector Sparse(M3Embedding q) => q.Sparse ?? throw new ArgumentException("the query has no sparse weights");
    private static MultiVector Colbert(M3Embedding q) => q.Colbert ?? throw new ArgumentException("the query has no ColBERT vectors");

    private static bool Exhaustive(SearchContext context, SearchOptions options, int k) => options.Exact || context.Snapshot.LiveCount <= k;

    /// <summary>Dense scores of the top <paramref name="k"/> passages by ANN (re-scored exactly), or of all passages when exhaustive.</summary>
    private static Dictionary<int, float> DenseTop(SearchContext context, float[] q, int k, bool exhaustive)
    {
        var snapshot = context.Snapshot;
        var buffer = new float[context.Dimension];
        var scores = new Dictionary<int, float>();
        if (exhaustive)
        {
            foreach (var seq in snapshot.AllLive()) scores[seq] = context.Dense(q, seq, buffer);
            return scores;
        }
        var top = new TopK(k);
        if (snapshot.Base is { } segment)
        {
            // Tombstoned passages stay in the graph until the next segment: ask for more so k live ones remain.
            int ask = k + Math.Min(snapshot.Tombstones.Count, k);
            foreach (var key in segment.Ann.Search(q, ask))
                if (snapshot.IsLive((int)key)) top.Offer((int)key, context.Dense(q, (int)key, buffer));
        }
        for (int i = 0; i < snapshot.TailSeqs.Length; i++)
            if (snapshot.IsLive(snapshot.TailSeqs[i])) top.Offer(snapshot.TailSeqs[i], M3Scores.Dense(q, snapshot.TailDenseRow(i)));
        foreach (var (p, s) in top.Result()) scores[p] = s;
        return scores;
    }

    private static Dictionary<int, float> DenseScores(SearchContext context, float[] q, SearchOptions options)
    {
        int k = Math.Max(options.Candidates, options.TopK);
        return DenseTop(context, q, k, Exhaustive(context, options, k));
    }

    private static Dictionary<int, float> SparseScores(SearchContext context, SparseVector q, SearchOptions options)
    {
        // With several passages per document the top-k passages may hold fewer than k documents: score every match.
        if (context.Snapshot.MultiPassage) return SparseWand.All(context.Snapshot, q);
        return SparseWand.Search(context.Snapshot, q, options.TopK).ToDictionary(x => x.Passage, x => x.Score);
    }

    /// <summary>Passages to re-rank: all with Exact (or a small index), else the union of the dense and sparse top candidates.</summary>
    private static List<int> Candidates(SearchContext context, M3Embedding query, SearchOptions options)
    {
        if (Exhaustive(context, options, options.Candidates)) return [.. context.Snapshot.AllLive()];
        var dense = DenseTop(context, Dense(query), options.Candidates, false).Keys;
        var sparse = SparseWand.Search(context.Snapshot, Sparse(query), options.Candidates).Select(x => x.Passage);
        return [.. dense.Union(sparse).Order()];
    }

    /// <summary>
    /// Scores candidates from their stored vectors. Rows come from the search's one SQLite connection in turn; reading
    /// and scoring the vectors (ColBERT's MaxSim dominates) runs on all cores, since one query's latency is what a user waits for.
    /// </summary>
    private static Dictionary<int, float> Rescore(SearchContext context, List<int> passages, Func<PassageRow, SearchContext, float> score, bool colbert = false)
    {
        context.Prefetch(passages);
        var rows = passages.Select(context.Row).OfType<PassageRow>().ToList();
        // Candidates only: an exhaustive re-rank reads every row in turn, and announcing them all would flood the page cache.
        if (colbert && rows.Count <= MaxPrefetch) context.PrefetchColbert(rows);
        var scores = new float[rows.Count];
        try { Parallel.For(0, rows.Count, i => scores[i] = score(rows[i], context)); }
        catch (AggregateException e) { System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerExceptions[0]); }
        var result = new Dictionary<int, float>(rows.Count);
        for (int i = 0; i < rows.Count; i++) result[(int)rows[i].Seq] = scores[i];
        return result;
    }

    private static Dictionary<int, float> Rrf(SearchContext context, M3Embedding query, SearchOptions options, bool hasColbert)
    {
        var candidates = Candidates(context, query, options);
        var rankings = new List<List<(int Passage, float Score)>>
        {
            Top(Rescore(context, candidates, (row, ctx) => M3Scores.Dense(Dense(query), ctx.DenseRow(row))), candidates.Count),
            Top(Rescore(context, candidates, (row, ctx) => M3Scores.Sparse(Sparse(query), ctx.Sparse(row))), candidates.Count),
        };
        if (hasColbert) rankings.Add(Top(Rescore(context, candidates, (row, ctx) => ctx.ColbertScore(Colbert(query), row), colbert: true), candidates.Count));
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
    /// <paramref name="verify"/> checks each reported passage against its row's checksums (re-ranking modes check every row they read).
    /// </summary>
    private static List<SearchHit> Aggregate(SearchContext context, Dictionary<int, float> scores, int k, Action<PassageRow, float>? verify)
    {
        var ranked = scores.Select(x => (Passage: x.Key, Score: x.Value)).ToList();
        ranked.Sort((a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Passage.CompareTo(b.Passage));
        // The rows of the best passages at once (more than k: several may belong to one document).
        context.Prefetch(ranked.Take(2 * k).Select(x => x.Passage));
        var seen = new HashSet<string>();
        var hits = new List<SearchHit>();
        foreach (var (p, s) in ranked)
        {
            if (hits.Count == k) break;
            if (context.Row(p) is not { } row || !seen.Add(row.DocId)) continue;
            verify?.Invoke(row, s);
            hits.Add(new SearchHit(row.DocId, s));
        }
        long after = 0;
        while (hits.Count < k)
        {
            var page = context.Store.PassagesInOrder(after, context.Snapshot.MaxSeq, 256, context.Transaction);
            if (page.Count == 0) break;
            foreach (var (seq, doc) in page)
                if (hits.Count < k && context.Snapshot.IsLive((int)seq) && seen.Add(doc)) hits.Add(new SearchHit(doc, 0));
            after = page[^1].Seq;
        }
        return hits;
    }
}
