using M3.Core.Inference;
using M3.Core.Scoring;

namespace M3.Retrieval.Evaluation;

/// <summary>nDCG@10, Recall@100 and MRR@10 of one retrieval mode, averaged over the queries that have judgements.</summary>
internal sealed record EvalResult(string Mode, double Ndcg10, double Recall100, double Mrr10, int Queries);

/// <summary>Runs every query through the index in each mode and scores the rankings against the qrels.</summary>
internal static class Evaluator
{
    /// <summary>The modes named as in the paper's tables: dense, sparse, colbert, sparse+dense, all (colbert+sparse+dense).</summary>
    public static readonly IReadOnlyList<string> AllModes = ["dense", "sparse", "colbert", "sparse+dense", "all"];

    public static IReadOnlyList<EvalResult> Run(M3Index index, M3Encoder encoder, IReadOnlyList<(string Id, string Text)> queries,
        IReadOnlyDictionary<string, Dictionary<string, int>> qrels, IReadOnlyList<string> modes, HybridWeights weights, IProgress<int>? progress = null,
        CancellationToken cancellationToken = default)
    {
        var judged = queries.Where(q => qrels.ContainsKey(q.Id)).ToList();
        var embeddings = encoder.Encode(judged.Select(q => q.Text).ToList(), M3EncodeOptions.Default, cancellationToken: cancellationToken);
        var results = new List<EvalResult>();
        foreach (var mode in modes)
        {
            var options = Options(mode, weights);
            double ndcg = 0, recall = 0, mrr = 0;
            for (int i = 0; i < judged.Count; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var ranked = Metrics.Rank(index.Search(embeddings[i], options).Select(h => (h.Id, (double)h.Score)));
                var q = qrels[judged[i].Id];
                ndcg += Metrics.Ndcg(ranked, q, 10);
                recall += Metrics.Recall(ranked, q, 100);
                mrr += Metrics.Mrr(ranked, q, 10);
                progress?.Report(1);
            }
            int n = Math.Max(judged.Count, 1);
            results.Add(new EvalResult(mode, ndcg / n, recall / n, mrr / n, judged.Count));
        }
        return results;
    }

    /// <summary>Search options for a mode name; sparse+dense is hybrid with the ColBERT weight set to 0.</summary>
    public static SearchOptions Options(string mode, HybridWeights weights) => mode switch
    {
        "dense" => new SearchOptions { Mode = SearchMode.Dense, TopK = 100 },
        "sparse" => new SearchOptions { Mode = SearchMode.Sparse, TopK = 100 },
        "colbert" => new SearchOptions { Mode = SearchMode.Colbert, TopK = 100 },
        "sparse+dense" => new SearchOptions { Mode = SearchMode.Hybrid, TopK = 100, Weights = weights with { Colbert = 0 } },
        "all" => new SearchOptions { Mode = SearchMode.Hybrid, TopK = 100, Weights = weights },
        _ => throw new ArgumentException($"unknown evaluation mode '{mode}'; expected one of {string.Join(", ", AllModes)}"),
    };
}
