using M3.Core.Checkpoint;
using M3.Core.Inference;
using M3.Extensions.AI;
using M3.Tests;
using Microsoft.Extensions.AI;

namespace M3.Core.Tests.Inference;

public sealed class EncoderBehaviourTests(EncoderFixture fixture) : IClassFixture<EncoderFixture>
{
    private IReadOnlyList<string> Texts => fixture.Golden.Items.Where(i => i.InputIds.Length < 2000).Select(i => i.Text).ToList();

    [Theory]
    [InlineData(1, null)]
    [InlineData(7, null)]
    [InlineData(64, 300)]
    [InlineData(64, null)]
    public void Results_do_not_depend_on_batching(int batchSize, int? maxBatchTokens)
    {
        var reference = fixture.Encoder.Encode(Texts, new M3EncodeOptions { BatchSize = 16 });
        var other = fixture.Encoder.Encode(Texts, new M3EncodeOptions { BatchSize = batchSize, MaxBatchTokens = maxBatchTokens });
        for (int i = 0; i < reference.Count; i++)
        {
            AssertClose(reference[i].Dense!, other[i].Dense!);
            AssertClose(reference[i].Colbert!.Data, other[i].Colbert!.Data);
            Assert.Equal(reference[i].Sparse!.Ids.ToArray(), other[i].Sparse!.Ids.ToArray());
            AssertClose(reference[i].Sparse!.Weights, other[i].Sparse!.Weights);
        }
    }

    [Fact]
    public void Batches_respect_the_token_budget_and_keep_long_texts_alone()
    {
        int[][] seqs = [new int[10], new int[500], new int[40], new int[40], new int[3]];
        var plan = BatchPlan.Create(seqs.Select(s => s.Length).ToArray(), batchSize: 16, maxBatchTokens: 100).Batches;
        Assert.Equal([1], plan[0]);
        foreach (var batch in plan)
            Assert.True(batch.Length == 1 || batch.Length * batch.Max(i => seqs[i].Length) <= 100);
        Assert.Equal(Enumerable.Range(0, 5), plan.SelectMany(b => b).Order());
    }

    [Fact]
    public void Only_requested_outputs_are_returned()
    {
        var r = fixture.Encoder.Encode(["hello world"], new M3EncodeOptions { Outputs = M3Outputs.Sparse })[0];
        Assert.Null(r.Dense);
        Assert.NotNull(r.Sparse);
        Assert.Null(r.Colbert);
    }

    [Fact]
    public void Empty_text_and_empty_list_work()
    {
        Assert.Empty(fixture.Encoder.Encode([]));
        var e = fixture.Encoder.Encode([""])[0];
        Assert.Equal(2, e.TokenCount);
        Assert.Single(fixture.Golden.Items, i => i.Text == "");
        GoldenTests.AssertMatches(fixture.Golden.Items.Single(i => i.Text == ""), e, -1);
    }

    [Fact]
    public void Over_long_text_is_truncated_to_max_length()
    {
        var text = string.Join(" ", Enumerable.Repeat("Hello world", 200));
        var e = fixture.Encoder.Encode([text], new M3EncodeOptions { MaxLength = 64 })[0];
        Assert.Equal(64, e.TokenCount);
        Assert.Equal(63, e.Colbert!.Count);
    }

    [Fact]
    public void Null_text_is_rejected_clearly()
    {
        var e = Assert.Throws<ArgumentException>(() => fixture.Encoder.Encode(["a", null!]));
        Assert.Contains("text 1", e.Message);
    }

    [Fact]
    public void Second_load_reuses_the_cached_graph()
    {
        var entries = GraphEntries(fixture.CacheDirectory);
        Assert.Single(entries);
        var stamp = File.GetLastWriteTimeUtc(Path.Combine(entries[0], "model.onnx"));
        using var again = M3Encoder.Load(TestPaths.TinyM3, new M3LoadOptions { CacheDirectory = fixture.CacheDirectory });
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(Path.Combine(entries[0], "model.onnx")));
        Assert.Equal(entries, GraphEntries(fixture.CacheDirectory));
    }

    [Fact]
    public void Changed_weights_get_a_new_graph()
    {
        var dir = CopyFixture();
        var cache = Path.Combine(dir, "cache");
        try
        {
            float[] before;
            using (var encoder = M3Encoder.Load(dir, new M3LoadOptions { CacheDirectory = cache }))
                before = encoder.Encode(["hello"])[0].Dense!;
            // Rewriting a file with the same bytes changes its modification time, not its content: the same graph is used.
            var head = Path.Combine(dir, "sparse_linear.pt");
            var bytes = File.ReadAllBytes(head);
            File.WriteAllBytes(head, bytes);
            using (var encoder = M3Encoder.Load(dir, new M3LoadOptions { CacheDirectory = cache }))
                Assert.Equal(before, encoder.Encode(["hello"])[0].Dense!);
            Assert.Single(GraphEntries(cache));

            // One flipped bit in the last weight: same size, different content, so a new graph.
            var weights = File.ReadAllBytes(Path.Combine(dir, "model.safetensors"));
            weights[^1] ^= 0x40;
            File.WriteAllBytes(Path.Combine(dir, "model.safetensors"), weights);
            using (var encoder = M3Encoder.Load(dir, new M3LoadOptions { CacheDirectory = cache }))
                encoder.Encode(["hello"]);
            Assert.Equal(2, GraphEntries(cache).Length);
            Assert.Empty(Directory.GetDirectories(cache, "*.tmp"));
        }
        finally { Directory.Delete(dir, true); }
    }

    private static string[] GraphEntries(string cache) =>
        Directory.GetDirectories(cache).Where(d => !Path.GetFileName(d).StartsWith('.')).Order().ToArray();

    [Fact]
    public async Task Embedding_generator_returns_the_dense_vectors()
    {
        using var generator = new M3EmbeddingGenerator(fixture.Encoder);
        var result = await generator.GenerateAsync(["hello", "world"]);
        var direct = fixture.Encoder.Encode(["hello", "world"]);
        Assert.Equal(2, result.Count);
        Assert.Equal(direct[0].Dense, result[0].Vector.ToArray());
        Assert.Equal(fixture.Encoder.HiddenSize, generator.GetService<EmbeddingGeneratorMetadata>()!.DefaultModelDimensions);
        await Assert.ThrowsAsync<NotSupportedException>(() => generator.GenerateAsync(["x"], new EmbeddingGenerationOptions { Dimensions = 7 }));
    }

    [Theory]
    [InlineData("colbert_linear.pt")]
    [InlineData("sparse_linear.pt")]
    [InlineData("config.json")]
    public void Load_fails_clearly_when_a_file_is_missing(string file)
    {
        var dir = CopyFixture();
        try
        {
            File.Delete(Path.Combine(dir, file));
            var e = Assert.ThrowsAny<M3Exception>(() => M3Encoder.Load(dir, new M3LoadOptions { CacheDirectory = Path.Combine(dir, "cache") }));
            Assert.Contains(file, e.Message);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Load_of_a_missing_folder_names_it()
    {
        var missing = Path.Combine(TestPaths.NewTempDir("m3missing"), "no-model");
        var e = Assert.Throws<EncoderException>(() => M3Encoder.Load(missing));
        Assert.Contains(missing, e.Message);
    }

    [Fact]
    public void Load_fails_clearly_on_a_wrong_shape()
    {
        var dir = CopyFixture();
        try
        {
            var config = File.ReadAllText(Path.Combine(dir, "config.json")).Replace("\"intermediate_size\": 64", "\"intermediate_size\": 48");
            File.WriteAllText(Path.Combine(dir, "config.json"), config);
            var e = Assert.Throws<CheckpointException>(() => M3Encoder.Load(dir, new M3LoadOptions { CacheDirectory = Path.Combine(dir, "cache") }));
            Assert.Contains("intermediate.dense.weight", e.Message);
            Assert.Contains("model.safetensors", e.Message);
        }
        finally { Directory.Delete(dir, true); }
    }

    private static string CopyFixture()
    {
        var dir = TestPaths.NewTempDir("m3copy");
        foreach (var f in Directory.GetFiles(TestPaths.TinyM3))
            if (Path.GetFileName(f) is not ("golden.json" or "tokenizer_golden.jsonl" or "pytorch_model.bin"))
                File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        return dir;
    }

    private static void AssertClose(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        Assert.Equal(a.Length, b.Length);
        for (int i = 0; i < a.Length; i++) Assert.True(Math.Abs(a[i] - b[i]) <= 1e-5f, $"[{i}] {a[i]} vs {b[i]}");
    }
}
