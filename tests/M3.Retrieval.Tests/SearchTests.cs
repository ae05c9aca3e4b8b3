using M3.Core.Representations;
using M3.Core.Scoring;
using M3.Retrieval.Storage;
using M3.Tests;

namespace M3.Retrieval.Tests;

/// <summary>Exact search in every mode equals ranking every document by its M3Scores score (ties by insertion order).</summary>
public sealed class SearchTests : IDisposable
{
    private readonly string _dir = TestPaths.NewTempDir("m3index");
    public void Dispose() => Directory.Delete(_dir, true);

    [Theory]
    [InlineData(SearchMode.Dense)]
    [InlineData(SearchMode.Sparse)]
    [InlineData(SearchMode.Colbert)]
    [InlineData(SearchMode.Hybrid)]
    public void Exact_search_ranks_like_brute_force(SearchMode mode)
    {
        var rng = new Random(7);
        var docs = Enumerable.Range(0, 300).Select(_ => SyntheticIndex.Embedding(rng, 16)).ToList();
        using var index = M3Index.OpenOrCreate(_dir, "synthetic", 16);
        index.Write(docs.Select((e, i) => new IndexStore.StoredPassage($"d{i}", 0, "t", null, e)).ToList());
        var weights = new HybridWeights(0.3f, 0.3f, 0.4f);
        var named = docs.Select((d, i) => ($"d{i}", d)).ToList();
        for (int q = 0; q < 20; q++)
        {
            var query = SyntheticIndex.Embedding(rng, 16, tokens: 4);
            SyntheticIndex.AssertRanksLikeBruteForce(index, query, named, mode, weights, approximateCandidates: 300);
        }
    }

    [Fact]
    public void Sparse_search_fills_with_unmatched_documents_in_insertion_order()
    {
        var rng = new Random(1);
        using var index = M3Index.OpenOrCreate(_dir, "synthetic", 8);
        var docs = Enumerable.Range(0, 20).Select(_ => SyntheticIndex.Embedding(rng, 8)).ToList();
        index.Write(docs.Select((e, i) => new IndexStore.StoredPassage($"d{i}", 0, "t", null, e)).ToList());
        var query = docs[5] with { Sparse = new SparseVector([docs[5].Sparse!.Ids[0]], [1f]) };
        var hits = index.Search(query, new SearchOptions { Mode = SearchMode.Sparse, TopK = 20 });
        Assert.Equal(20, hits.Count);
        Assert.Equal(hits.OrderByDescending(h => h.Score).Select(h => h.Score), hits.Select(h => h.Score));
        Assert.Contains(hits, h => h.Id == "d5" && h.Score > 0);
        var zeros = hits.Where(h => h.Score == 0).Select(h => int.Parse(h.Id[1..])).ToList();
        Assert.Equal(zeros.Order(), zeros);
    }

    [Fact]
    public void Rrf_score_is_the_sum_of_one_over_60_plus_rank_in_the_dense_sparse_and_colbert_rankings()
    {
        var rng = new Random(11);
        var docs = Enumerable.Range(0, 120).Select(_ => SyntheticIndex.Embedding(rng, 16)).ToList();
        using var index = M3Index.OpenOrCreate(_dir, "synthetic", 16);
        index.Write(docs.Select((e, i) => new IndexStore.StoredPassage($"d{i}", 0, "t", null, e)).ToList());
        for (int q = 0; q < 10; q++)
        {
            var query = SyntheticIndex.Embedding(rng, 16, tokens: 4);
            // Reciprocal rank fusion (Cormack et al.) with k = 60: each ranking of every document, best first (ties by
            // insertion order), adds 1 / (60 + rank) with rank counted from 1; summed in float in the order dense, sparse, ColBERT.
            var fused = new float[docs.Count];
            foreach (var mode in new[] { SearchMode.Dense, SearchMode.Sparse, SearchMode.Colbert })
            {
                var ranking = docs.Select((d, i) => (Score: SyntheticIndex.Reference(mode, query, d, HybridWeights.Default), Index: i))
                    .OrderByDescending(x => x.Score).ThenBy(x => x.Index).ToList();
                for (int rank = 1; rank <= ranking.Count; rank++) fused[ranking[rank - 1].Index] += 1f / (60 + rank);
            }
            var expected = fused.Select((score, i) => (Id: $"d{i}", Score: score, Index: i))
                .OrderByDescending(x => x.Score).ThenBy(x => x.Index).Take(10).ToList();
            foreach (var exact in new[] { true, false })
            {
                var hits = index.Search(query, new SearchOptions { Mode = SearchMode.Rrf, Exact = exact, TopK = 10, Candidates = docs.Count });
                Assert.Equal(expected.Select(x => x.Id), hits.Select(h => h.Id));
                Assert.Equal(expected.Select(x => x.Score), hits.Select(h => h.Score));
            }
        }
    }

    [Fact]
    public void Rrf_returns_the_requested_number_of_distinct_documents()
    {
        using var index = M3Index.OpenOrCreate(_dir, "synthetic", 8);
        SyntheticIndex.Fill(index, 50, 3);
        var hits = index.Search(SyntheticIndex.Embedding(new Random(4), 8), new SearchOptions { Mode = SearchMode.Rrf, TopK = 10 });
        Assert.Equal(10, hits.Select(h => h.Id).Distinct().Count());
    }

    [Fact]
    public void Empty_index_returns_no_hits()
    {
        using var index = M3Index.OpenOrCreate(_dir, "synthetic", 8);
        foreach (var mode in Enum.GetValues<SearchMode>())
            Assert.Empty(index.Search(SyntheticIndex.Embedding(new Random(2), 8), new SearchOptions { Mode = mode }));
    }

    [Fact]
    public void Documents_survive_reopening_and_deletes_take_effect()
    {
        var query = SyntheticIndex.Embedding(new Random(9), 8);
        IReadOnlyList<SearchHit> before;
        using (var index = M3Index.OpenOrCreate(_dir, "synthetic", 8))
        {
            SyntheticIndex.Fill(index, 30, 5);
            before = index.Search(query, new SearchOptions { Exact = true });
        }
        using (var index = M3Index.Open(_dir))
        {
            Assert.Equal((30, 30), index.Count());
            Assert.Equal(before, index.Search(query, new SearchOptions { Exact = true }));
            Assert.True(index.Delete(before[0].Id));
            Assert.False(index.Delete(before[0].Id));
            Assert.False(index.Delete("no-such-id"));
            Assert.Null(index.Get(before[0].Id));
            var after = index.Search(query, new SearchOptions { Exact = true });
            Assert.DoesNotContain(after, h => h.Id == before[0].Id);
            Assert.Equal(before[1], after[0]);
        }
        using (var index = M3Index.Open(_dir)) Assert.Equal((29, 29), index.Count());
    }

    [Fact]
    public void Adding_an_existing_id_replaces_the_document()
    {
        using var index = M3Index.OpenOrCreate(_dir, "synthetic", 8);
        SyntheticIndex.Fill(index, 5, 1);
        SyntheticIndex.Fill(index, 3, 2);
        Assert.Equal((5, 5), index.Count());
    }

    [Fact]
    public void Passage_scores_aggregate_per_document_by_max()
    {
        var rng = new Random(11);
        using var index = M3Index.OpenOrCreate(_dir, "synthetic", 8);
        var passages = new List<IndexStore.StoredPassage>();
        for (int d = 0; d < 10; d++)
            for (int p = 0; p < 3; p++)
                passages.Add(new($"d{d}", p, "t", null, SyntheticIndex.Embedding(rng, 8)));
        index.Write(passages);
        var query = SyntheticIndex.Embedding(rng, 8);
        var hits = index.Search(query, new SearchOptions { Mode = SearchMode.Dense, TopK = 10 });
        Assert.Equal(10, hits.Select(h => h.Id).Distinct().Count());
        foreach (var h in hits)
            Assert.Equal(passages.Where(p => p.DocId == h.Id).Max(p => M3Scores.Dense(query.Dense, p.Embedding.Dense)), h.Score);
        Assert.Equal(10, index.Search(query, new SearchOptions { Mode = SearchMode.Sparse, TopK = 10 }).Count);
    }

    [Fact]
    public void Wrong_dimension_and_missing_representations_are_rejected()
    {
        using var index = M3Index.OpenOrCreate(_dir, "synthetic", 8);
        var e = SyntheticIndex.Embedding(new Random(1), 16);
        Assert.Throws<IndexException>(() => index.Write([new IndexStore.StoredPassage("x", 0, "t", null, e)]));
        Assert.Throws<IndexException>(() => index.Write([new IndexStore.StoredPassage("x", 0, "t", null, e with { Colbert = null })]));
        Assert.Equal((0, 0), index.Count());
    }

    [Fact]
    public void Opening_a_folder_without_an_index_fails_clearly()
    {
        var e = Assert.Throws<IndexException>(() => M3Index.Open(Path.Combine(_dir, "none")));
        Assert.Contains("index.db", e.Message);
    }
}
