using M3.Core.Inference;
using M3.Core.Representations;
using M3.Core.Scoring;
using M3.Tests;

namespace M3.Core.Tests.Inference;

/// <summary>The encoder against golden.json: every output within 2e-4 of the float64 reference.</summary>
public sealed class GoldenTests(EncoderFixture fixture) : IClassFixture<EncoderFixture>
{
    private const double Tolerance = 2e-4;
    private const double SparseFloor = 1e-3;

    [Fact]
    public void Tokenizer_gives_the_reference_input_ids()
    {
        foreach (var item in fixture.Golden.Items)
            Assert.Equal(item.InputIds, fixture.Encoder.Tokenizer.EncodeToIds(item.Text, 8192));
    }

    [Fact]
    public void Text_encoding_matches_every_reference_output()
    {
        var items = fixture.Golden.Items;
        var results = fixture.Encoder.Encode(items.Select(i => i.Text).ToList());
        for (int i = 0; i < items.Count; i++) AssertMatches(items[i], results[i], i);
    }

    [Fact]
    public void Encoding_from_pytorch_model_bin_alone_matches_the_reference()
    {
        var dir = TestPaths.NewTempDir("m3bin");
        var cache = TestPaths.NewTempDir("m3graphs");
        try
        {
            foreach (var f in Directory.GetFiles(TestPaths.TinyM3))
                if (Path.GetFileName(f) is not ("model.safetensors" or "golden.json" or "tokenizer_golden.jsonl"))
                    File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
            using var encoder = M3Encoder.Load(dir, new M3LoadOptions { CacheDirectory = cache });
            var items = fixture.Golden.Items;
            var results = encoder.EncodeIds(items.Select(i => i.InputIds).ToList());
            for (int i = 0; i < items.Count; i++) AssertMatches(items[i], results[i], i);
        }
        finally
        {
            Directory.Delete(dir, true);
            Directory.Delete(cache, true);
        }
    }

    [Fact]
    public void Mcls_matches_the_reference_ids_and_dense_vector()
    {
        var items = fixture.Golden.Items.Where(i => i.MclsIds != null).ToList();
        Assert.NotEmpty(items);
        var results = fixture.Encoder.Encode(items.Select(i => i.Text).ToList(), new M3EncodeOptions { Mcls = true });
        for (int i = 0; i < items.Count; i++)
        {
            Assert.Equal(items[i].MclsIds!, Mcls.Build(items[i].InputIds.Length == 8192
                ? fixture.Encoder.Tokenizer.EncodeToIds(items[i].Text, int.MaxValue)[1..^1]
                : items[i].InputIds[1..^1], 256, 8192));
            AssertClose(items[i].MclsDense!, results[i].Dense!, $"item {i} MCLS dense");
            // MCLS changes only dense: sparse and ColBERT are those of the plain sequence.
            Assert.Equal(items[i].InputIds.Length, results[i].TokenCount);
            Assert.Equal(items[i].Colbert.Length, results[i].Colbert!.Count);
        }
    }

    [Fact]
    public void Pair_scores_match_the_reference()
    {
        var g = fixture.Golden;
        var emb = fixture.Encoder.EncodeIds(g.Items.Select(i => i.InputIds).ToList());
        var w = new HybridWeights((float)g.HybridWeights[0], (float)g.HybridWeights[1], (float)g.HybridWeights[2]);
        foreach (var pair in g.Pairs)
        {
            var s = M3Scores.All(emb[pair.Query], emb[pair.Passage], w);
            Assert.InRange(s.Dense, pair.Scores["dense"] - Tolerance, pair.Scores["dense"] + Tolerance);
            Assert.InRange(s.Sparse, pair.Scores["sparse"] - Tolerance, pair.Scores["sparse"] + Tolerance);
            Assert.InRange(s.Colbert, pair.Scores["colbert"] - Tolerance, pair.Scores["colbert"] + Tolerance);
            Assert.InRange(s.SparseDense, pair.Scores["sparse+dense"] - Tolerance, pair.Scores["sparse+dense"] + Tolerance);
            Assert.InRange(s.ColbertSparseDense, pair.Scores["colbert+sparse+dense"] - Tolerance, pair.Scores["colbert+sparse+dense"] + Tolerance);
        }
    }

    internal static void AssertMatches(Golden.Item expected, M3Embedding actual, int index)
    {
        Assert.Equal(expected.InputIds.Length, actual.TokenCount);
        AssertClose(expected.Dense, actual.Dense!, $"item {index} dense");
        Assert.Equal(expected.Colbert.Length, actual.Colbert!.Count);
        for (int r = 0; r < expected.Colbert.Length; r++)
            AssertClose(expected.Colbert[r], actual.Colbert[r].ToArray(), $"item {index} colbert row {r}");
        var sparse = actual.Sparse!;
        foreach (var (id, w) in expected.Sparse)
            if (w > SparseFloor) Assert.True(Math.Abs(sparse[id] - w) <= Tolerance, $"item {index} sparse id {id}: {sparse[id]} vs {w}");
        for (int k = 0; k < sparse.Count; k++)
        {
            if (sparse.Weights[k] <= SparseFloor) continue;
            Assert.True(expected.Sparse.TryGetValue(sparse.Ids[k], out var w) && Math.Abs(w - sparse.Weights[k]) <= Tolerance,
                $"item {index} sparse id {sparse.Ids[k]} = {sparse.Weights[k]} not in the reference");
        }
    }

    internal static void AssertClose(double[] expected, ReadOnlySpan<float> actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= Tolerance, $"{what}[{i}]: {actual[i]} vs {expected[i]}");
    }
}
