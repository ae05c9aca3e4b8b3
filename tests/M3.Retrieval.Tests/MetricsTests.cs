using M3.Retrieval.Evaluation;

namespace M3.Retrieval.Tests;

/// <summary>Metrics against values computed by hand.</summary>
public class MetricsTests
{
    private static readonly Dictionary<string, int> Qrels = new() { ["a"] = 2, ["b"] = 1, ["c"] = 0, ["z"] = 1 };

    [Fact]
    public void Ndcg_uses_graded_linear_gains_and_log2_discounts()
    {
        // Ranking a, c, b: DCG = 2/log2(2) + 0 + 1/log2(4) = 2.5; ideal a, b, z: 2 + 1/log2(3) + 1/2 = 3.1309297536.
        Assert.Equal(2.5 / (2.5 + 1 / Math.Log2(3)), Metrics.Ndcg(["a", "c", "b"], Qrels, 10), 12);
        Assert.Equal(1.0, Metrics.Ndcg(["a", "b", "z"], Qrels, 10), 12);
        // Cut at 1: only a counts, ideal is a.
        Assert.Equal(1.0, Metrics.Ndcg(["a", "x"], Qrels, 1), 12);
        Assert.Equal(0.0, Metrics.Ndcg(["x", "y"], Qrels, 10));
    }

    [Fact]
    public void Recall_and_mrr_count_grades_above_zero()
    {
        Assert.Equal(2.0 / 3, Metrics.Recall(["c", "b", "a", "q"], Qrels, 100), 12);
        Assert.Equal(1.0 / 3, Metrics.Recall(["c", "b", "a"], Qrels, 2), 12);
        Assert.Equal(0.5, Metrics.Mrr(["c", "b", "a"], Qrels, 10));
        Assert.Equal(0.0, Metrics.Mrr(["c", "x", "b"], Qrels, 2));
        Assert.Equal(0.0, Metrics.Recall(["a"], new Dictionary<string, int> { ["a"] = 0 }, 10));
    }

    [Fact]
    public void Ties_are_broken_by_document_id_descending_as_trec_eval_does()
    {
        var ranked = Metrics.Rank([("b", 0.5), ("a", 0.5), ("z", 0.9), ("c", 0.5)]);
        Assert.Equal(["z", "c", "b", "a"], ranked);
        // With the tie broken that way, the first relevant document (z, grade 1) is at rank 1 and b at rank 3.
        Assert.Equal(1.0, Metrics.Mrr(ranked, Qrels, 10));
        var dcg = 1 / Math.Log2(2) + 1 / Math.Log2(4) + 2 / Math.Log2(5);
        var idcg = 2 + 1 / Math.Log2(3) + 1 / Math.Log2(4);
        Assert.Equal(dcg / idcg, Metrics.Ndcg(ranked, Qrels, 10), 12);
    }

    [Fact]
    public void Qrels_and_queries_files_are_parsed_with_clear_errors()
    {
        var dir = M3.Tests.TestPaths.NewTempDir("m3beir");
        try
        {
            var qrels = Path.Combine(dir, "test.tsv");
            File.WriteAllLines(qrels, ["query-id\tcorpus-id\tscore", "q1\td1\t2", "q1\td2\t0", "q2\td3\t1"]);
            var parsed = BeirData.ReadQrels(qrels);
            Assert.Equal(2, parsed["q1"]["d1"]);
            Assert.Equal(1, parsed["q2"]["d3"]);
            File.WriteAllLines(qrels, ["q1\td1\tx"]);
            Assert.Contains("test.tsv:1", Assert.Throws<IndexException>(() => BeirData.ReadQrels(qrels)).Message);
            var queries = Path.Combine(dir, "queries.jsonl");
            File.WriteAllLines(queries, ["{\"_id\": \"q1\", \"text\": \"hello\"}", "{\"_id\": 7}"]);
            Assert.Contains("queries.jsonl:2", Assert.Throws<IndexException>(() => BeirData.ReadQueries(queries)).Message);
        }
        finally { Directory.Delete(dir, true); }
    }
}
