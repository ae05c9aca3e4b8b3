using M3.Core.Representations;
using M3.Core.Scoring;
using M3.Retrieval.Storage;
using M3.Tests;

namespace M3.Retrieval.Tests;

/// <summary>
/// Searches over a base segment (memory-mapped postings and HNSW graph), passages committed after it, and tombstones
/// rank exactly as brute force over the live documents; segments are rebuilt from the store when damaged.
/// </summary>
public sealed class SegmentTests : IDisposable
{
    private const int Dim = 16;
    private readonly string _dir = TestPaths.NewTempDir("m3segment");
    public void Dispose() => Directory.Delete(_dir, true);

    /// <summary>A ColBERT-less index of <paramref name="docs"/> as d0, d1, …, compacted into one segment.</summary>
    private M3Index CompactedIndex(int dimension, IReadOnlyList<M3Embedding> docs)
    {
        var index = M3Index.OpenOrCreate(_dir, "synthetic", dimension, new IndexOptions { Colbert = ColbertPrecision.None });
        index.Write(docs.Select((e, i) => new IndexStore.StoredPassage($"d{i}", 0, "t", null, e)).ToList());
        index.Compact();
        return index;
    }

    /// <summary>400 documents in a base segment, 200 after it, 30 deleted across both and 5 replaced; returns the live ones by id, in insertion order.</summary>
    private static List<(string Id, M3Embedding E)> Build(M3Index index, Random rng)
    {
        var live = new List<(string Id, M3Embedding E)>();
        void Add(IEnumerable<int> ids)
        {
            var batch = ids.Select(i => ($"d{i}", SyntheticIndex.Embedding(rng, Dim, vocabulary: 40))).ToList();
            index.Write(batch.Select(b => new IndexStore.StoredPassage(b.Item1, 0, "t", null, b.Item2)).ToList());
            foreach (var b in batch) { live.RemoveAll(l => l.Id == b.Item1); live.Add(b); }
        }
        Add(Enumerable.Range(0, 400));
        index.Compact();
        Add(Enumerable.Range(400, 200));
        foreach (var i in Enumerable.Range(0, 30).Select(i => i * 19 % 600))
        {
            Assert.True(index.Delete($"d{i}"));
            live.RemoveAll(l => l.Id == $"d{i}");
        }
        Add([1, 2, 3, 450, 451]);
        return live;
    }

    [Theory]
    [InlineData(SearchMode.Dense)]
    [InlineData(SearchMode.Sparse)]
    [InlineData(SearchMode.Colbert)]
    [InlineData(SearchMode.Hybrid)]
    public void Exact_search_over_base_tail_and_tombstones_ranks_like_brute_force(SearchMode mode)
    {
        var rng = new Random(3);
        using var index = M3Index.OpenOrCreate(_dir, "synthetic", Dim);
        var live = Build(index, rng);
        Assert.True(Directory.EnumerateFiles(_dir, "base.*.postings").Any());
        var weights = new HybridWeights(0.3f, 0.3f, 0.4f);
        for (int q = 0; q < 15; q++)
        {
            var query = SyntheticIndex.Embedding(rng, Dim, vocabulary: 40, tokens: 5);
            SyntheticIndex.AssertRanksLikeBruteForce(index, query, live, mode, weights, approximateCandidates: 2000);
        }
    }

    [Fact]
    public void Sparse_block_max_wand_equals_brute_force_on_long_lists()
    {
        var rng = new Random(5);
        // 3,000 passages over 12 tokens: every list spans many blocks, so block skipping is exercised.
        var docs = Enumerable.Range(0, 3000).Select(_ => SyntheticIndex.Embedding(rng, 4, vocabulary: 12, tokens: 4)).ToList();
        using var index = CompactedIndex(4, docs);
        for (int q = 0; q < 30; q++)
        {
            var query = SyntheticIndex.Embedding(rng, 4, vocabulary: 12, tokens: 3);
            var expected = docs.Select((d, i) => (Id: $"d{i}", Score: M3Scores.Sparse(query.Sparse!, d.Sparse!), Index: i))
                .OrderByDescending(x => x.Score).ThenBy(x => x.Index).Take(5).ToList();
            var hits = index.Search(query, new SearchOptions { Mode = SearchMode.Sparse, TopK = 5 });
            Assert.Equal(expected.Select(x => (x.Id, x.Score)), hits.Select(h => (h.Id, h.Score)));
        }
    }

    [Fact]
    public void Approximate_dense_search_finds_each_documents_near_duplicate()
    {
        var rng = new Random(8);
        var docs = Enumerable.Range(0, 2000).Select(_ => SyntheticIndex.Embedding(rng, 32)).ToList();
        using var index = CompactedIndex(32, docs);
        int found = 0;
        for (int i = 0; i < 2000; i += 40)
        {
            var near = docs[i].Dense!.Select(v => v + (float)(rng.NextDouble() - 0.5) * 0.01f).ToArray();
            var hit = index.Search(docs[i] with { Dense = near }, new SearchOptions { Mode = SearchMode.Dense, TopK = 1 })[0];
            if (hit.Id == $"d{i}") found++;
            Assert.Equal(M3Scores.Dense(near, docs[int.Parse(hit.Id[1..])].Dense), hit.Score);
        }
        Assert.Equal(50, found);
    }

    [Fact]
    public void Concurrent_dense_searches_beyond_one_per_core_answer_as_sequential_ones()
    {
        var rng = new Random(9);
        var docs = Enumerable.Range(0, 1000).Select(_ => SyntheticIndex.Embedding(rng, 32)).ToList();
        using var index = CompactedIndex(32, docs);
        var options = new SearchOptions { Mode = SearchMode.Dense, TopK = 10 };
        var queries = docs.Take(50).ToList();
        var expected = queries.Select(q => index.Search(q, options)).ToList();
        // The native HNSW has one search context per hardware thread: more threads than cores must wait, not fail.
        // Dedicated threads (the thread pool would add threads too slowly to overlap), each searching every query.
        int threads = Environment.ProcessorCount * 4;
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        using var start = new Barrier(threads);
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            start.SignalAndWait();
            for (int i = 0; i < queries.Count; i++)
            {
                int q = (i + t) % queries.Count;
                try
                {
                    if (!index.Search(queries[q], options).SequenceEqual(expected[q])) failures.Add($"query {q}: other hits");
                }
                catch (Exception e) { failures.Add($"query {q}: {e.Message}"); }
            }
        })).ToList();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.Join());
        Assert.Empty(failures);
    }

    [Theory]
    [InlineData("usearch")]
    [InlineData("postings")]
    public void A_missing_or_damaged_segment_file_is_rebuilt_from_the_store(string damaged)
    {
        var rng = new Random(4);
        var query = SyntheticIndex.Embedding(rng, Dim, vocabulary: 40, tokens: 5);
        IReadOnlyList<SearchHit> before;
        using (var index = M3Index.OpenOrCreate(_dir, "synthetic", Dim))
        {
            Build(index, rng);
            before = index.Search(query, new SearchOptions { Mode = SearchMode.Hybrid, Exact = true });
        }
        var file = Directory.EnumerateFiles(_dir, $"base.*.{damaged}").Single();
        if (damaged == "usearch") File.Delete(file);
        else File.WriteAllBytes(file, File.ReadAllBytes(file)[..100]);
        using (var index = M3Index.Open(_dir))
        {
            Assert.Equal(before, index.Search(query, new SearchOptions { Mode = SearchMode.Hybrid, Exact = true }));
            Assert.Equal(before.Take(5), index.Search(query, new SearchOptions { Mode = SearchMode.Hybrid, TopK = 5, Candidates = 2000 }));
        }
        Assert.True(File.Exists(Directory.EnumerateFiles(_dir, "base.*.usearch").Single()));
        Assert.True(new FileInfo(Directory.EnumerateFiles(_dir, "base.*.postings").Single()).Length > 100);
    }

    [Theory]
    [InlineData(VectorFiles.DenseName, SearchMode.Dense)]
    [InlineData(VectorFiles.ColbertName, SearchMode.Colbert)]
    public void Flipped_bytes_in_a_stored_vector_are_reported_with_the_document(string file, SearchMode mode)
    {
        var rng = new Random(6);
        var docs = Enumerable.Range(0, 20).Select(_ => SyntheticIndex.Embedding(rng, Dim)).ToList();
        using (var index = M3Index.OpenOrCreate(_dir, "synthetic", Dim))
            index.Write(docs.Select((e, i) => new IndexStore.StoredPassage($"d{i}", 0, "t", null, e)).ToList());
        // Document d7's vectors start at the 8th row of each file (12 ColBERT rows per synthetic document).
        var path = Path.Combine(_dir, file);
        var bytes = File.ReadAllBytes(path);
        bytes[file == VectorFiles.DenseName ? 7 * Dim * 4 + 5 : 7 * 12 * Dim * 4 + 5] ^= 0x40;
        File.WriteAllBytes(path, bytes);
        using var reopened = M3Index.Open(_dir);
        var e = Assert.Throws<IndexException>(() => reopened.Search(docs[7], new SearchOptions { Mode = mode, Exact = true }));
        Assert.Contains("'d7'", e.Message);
        Assert.Contains(file, e.Message);
    }

    [Theory]
    [InlineData(ColbertPrecision.Float16, 1e-3)]
    [InlineData(ColbertPrecision.Int8, 1.0 / 127)]
    public void Compact_colbert_rows_stay_within_their_quantization_error(ColbertPrecision precision, double relative)
    {
        var rng = new Random(2);
        var rows = SyntheticIndex.Embedding(rng, 64).Colbert!;
        var decoded = ColbertCodec.Decode(ColbertCodec.Encode(rows, precision), precision, 64);
        Assert.Equal(rows.Count, decoded.Count);
        for (int r = 0; r < rows.Count; r++)
        {
            float max = 0;
            foreach (var v in rows[r]) max = MathF.Max(max, MathF.Abs(v));
            for (int i = 0; i < 64; i++) Assert.True(MathF.Abs(rows[r][i] - decoded[r][i]) <= relative * max, $"row {r} value {i}");
        }
        Assert.Equal(ColbertCodec.BytesPerRow(precision, 64) * rows.Count, ColbertCodec.Encode(rows, precision).Length);
    }

    [Fact]
    public void Without_colbert_hybrid_is_dense_plus_sparse_and_colbert_mode_says_why_it_is_unavailable()
    {
        var rng = new Random(9);
        using var index = M3Index.OpenOrCreate(_dir, "synthetic", Dim, new IndexOptions { Colbert = ColbertPrecision.None });
        var docs = Enumerable.Range(0, 50).Select(_ => SyntheticIndex.Embedding(rng, Dim) with { Colbert = null }).ToList();
        index.Write(docs.Select((e, i) => new IndexStore.StoredPassage($"d{i}", 0, "t", null, e)).ToList());
        Assert.Equal(0, new FileInfo(Path.Combine(_dir, VectorFiles.ColbertName)).Length);
        var query = SyntheticIndex.Embedding(rng, Dim, tokens: 4);
        var w = HybridWeights.Default;
        var expected = docs.Select((d, i) => (Id: $"d{i}", Score: M3Scores.SparseDense(M3Scores.Dense(query.Dense, d.Dense), M3Scores.Sparse(query.Sparse!, d.Sparse!), w), Index: i))
            .OrderByDescending(x => x.Score).ThenBy(x => x.Index).Take(10);
        Assert.Equal(expected.Select(x => (x.Id, x.Score)), index.Search(query, new SearchOptions { Mode = SearchMode.Hybrid, Exact = true }).Select(h => (h.Id, h.Score)));
        var e = Assert.Throws<IndexException>(() => index.Search(query, new SearchOptions { Mode = SearchMode.Colbert }));
        Assert.Contains("--no-colbert", e.Message);
        Assert.Equal(10, index.Search(query, new SearchOptions { Mode = SearchMode.Rrf }).Count);
    }
}
