using System.Diagnostics;
using System.Text.Json;
using M3.Cli.Commands;
using M3.Core.Inference;
using M3.Core.Scoring;
using M3.Retrieval;
using M3.Tests;

namespace M3.Cli.Tests;

/// <summary>m3 index / search / eval end to end on the fixture model, including a process killed mid-ingest.</summary>
[Collection("Console")]
public sealed class IndexCommandTests : IDisposable
{
    private readonly string _dir = TestPaths.NewTempDir("m3cliindex");
    private readonly string? _previousCache = Environment.GetEnvironmentVariable("M3_CACHE");

    public IndexCommandTests() => Environment.SetEnvironmentVariable("M3_CACHE", Path.Combine(_dir, "cache"));

    public void Dispose()
    {
        Environment.SetEnvironmentVariable("M3_CACHE", _previousCache);
        Directory.Delete(_dir, true);
    }

    private static (int ExitCode, string Stdout, string Stderr) Run(System.CommandLine.Command command, params string[] args) =>
        CliRun.Invoke(command, args);

    private static List<string> GoldenTexts(int count) =>
        File.ReadLines(Path.Combine(TestPaths.TinyM3, "tokenizer_golden.jsonl"))
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("text").GetString()!)
            .Where(t => t.Length > 3).Distinct().Take(count).ToList();

    private string Docs(IReadOnlyList<string> texts, string name = "docs.jsonl")
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllLines(path, texts.Select((t, i) => JsonSerializer.Serialize(new { id = $"d{i}", text = t, metadata = new { n = i } })));
        return path;
    }

    [Theory]
    [InlineData("dense")]
    [InlineData("sparse")]
    [InlineData("colbert")]
    [InlineData("hybrid")]
    public void Exact_search_equals_ranking_every_document_by_the_reference_score(string mode)
    {
        var texts = GoldenTexts(80);
        var index = Path.Combine(_dir, "ix");
        Assert.Equal(0, Run(IndexCommand.Create(), "add", "--index", index, "--model", TestPaths.TinyM3, "--input", Docs(texts), "--batch-size", "32").ExitCode);
        using var encoder = M3Encoder.Load(TestPaths.TinyM3, new M3LoadOptions { CacheDirectory = Path.Combine(_dir, "cache", "graphs") });
        var docs = encoder.Encode(texts);
        foreach (var query in new[] { texts[3], texts[40], "Hello world", GoldenTexts(90)[85] })
        {
            var q = encoder.Encode([query])[0];
            var expected = docs.Select((d, i) => (Id: $"d{i}", Score: mode switch
            {
                "dense" => M3Scores.Dense(q.Dense, d.Dense),
                "sparse" => M3Scores.Sparse(q.Sparse!, d.Sparse!),
                "colbert" => M3Scores.Colbert(q.Colbert!, d.Colbert!),
                _ => M3Scores.All(q, d).ColbertSparseDense,
            }, Index: i)).OrderByDescending(x => x.Score).ThenBy(x => x.Index).Take(10).Select(x => x.Id);
            var (code, stdout, stderr) = Run(SearchCommand.Create(), "--index", index, "--query", query, "--mode", mode, "--exact");
            Assert.True(code == 0, stderr);
            var ids = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("id").GetString());
            Assert.Equal(expected, ids);
        }
    }

    [Fact]
    public void Info_delete_and_unknown_ids()
    {
        var index = Path.Combine(_dir, "ix");
        Assert.Equal(0, Run(IndexCommand.Create(), "add", "--index", index, "--model", TestPaths.TinyM3, "--input", Docs(GoldenTexts(10))).ExitCode);
        var (code, stdout, _) = Run(IndexCommand.Create(), "info", "--index", index);
        Assert.Equal(0, code);
        Assert.Equal(10, JsonDocument.Parse(stdout).RootElement.GetProperty("documents").GetInt32());
        Assert.Equal(0, Run(IndexCommand.Create(), "delete", "--index", index, "--id", "d3").ExitCode);
        var unknown = Run(IndexCommand.Create(), "delete", "--index", index, "--id", "d3");
        Assert.NotEqual(0, unknown.ExitCode);
        Assert.Contains("d3", unknown.Stderr);
        Assert.Contains("\"documents\":9", Run(IndexCommand.Create(), "info", "--index", index).Stdout);
        Assert.NotEqual(0, Run(IndexCommand.Create(), "info", "--index", Path.Combine(_dir, "missing")).ExitCode);
    }

    [Fact]
    public void A_malformed_line_is_reported_with_its_number_and_nothing_of_the_input_is_committed()
    {
        var index = Path.Combine(_dir, "ix");
        var path = Docs(GoldenTexts(20));
        var lines = File.ReadAllLines(path).ToList();
        lines.Insert(14, "{\"id\": \"bad\", \"text\": 42}");
        File.WriteAllLines(path, lines);
        var (code, _, stderr) = Run(IndexCommand.Create(), "add", "--index", index, "--model", TestPaths.TinyM3, "--input", path, "--batch-size", "8");
        Assert.NotEqual(0, code);
        Assert.Contains("docs.jsonl:15", stderr);
        Assert.False(File.Exists(Path.Combine(index, "index.db")) && M3Index.Open(index) is var ix && ix.Count().Documents > 0);
    }

    [Fact]
    public void Killing_the_process_mid_ingest_keeps_every_committed_batch_searchable()
    {
        const int batch = 8;
        // Enough work (6,000 documents of ~150 tokens) that the kill lands mid-ingest.
        var pool = GoldenTexts(6000);
        var texts = Enumerable.Range(0, 6000).Select(i => string.Join(" ", Enumerable.Range(0, 6).Select(j => pool[(i * 7 + j * 1013) % pool.Count])) + $" #{i}").ToList();
        var index = Path.Combine(_dir, "ix");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { typeof(IndexCommand).Assembly.Location, "index", "add", "--index", index, "--model", TestPaths.TinyM3, "--input", Docs(texts), "--batch-size", batch.ToString() })
            start.ArgumentList.Add(a);
        start.Environment["M3_CACHE"] = Path.Combine(_dir, "cache");
        using var process = Process.Start(start)!;
        var deadline = DateTime.UtcNow.AddSeconds(120);
        long committed = 0;
        while (!process.HasExited && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(50);
            if (!File.Exists(Path.Combine(index, "index.db"))) continue;
            using var reader = M3Index.Open(index);
            committed = reader.Count().Documents;
            if (committed >= 3 * batch) break;
        }
        if (process.HasExited) Assert.Fail("the ingest ended before it could be killed: " + process.StandardError.ReadToEnd());
        process.Kill(entireProcessTree: true);
        process.WaitForExit();

        using var ix = M3Index.Open(index);
        Assert.Equal("ok", ix.IntegrityCheck());
        var (docs, _) = ix.Count();
        Assert.True(docs >= committed && docs % batch == 0 && docs < texts.Count, $"{docs} documents after the kill, {committed} seen before it");
        using var encoder = M3Encoder.Load(TestPaths.TinyM3, new M3LoadOptions { CacheDirectory = Path.Combine(_dir, "cache", "graphs") });
        for (int i = 0; i < docs; i += 7)
        {
            var hit = ix.Search(texts[i], encoder, new SearchOptions { Mode = SearchMode.Dense, TopK = 1 })[0];
            Assert.True(hit.Score > 0.9999f, $"document d{i} not found by its own text");
        }
        // The index takes more documents after the crash.
        ix.Add([new IndexDocument("after", "after the crash")], encoder);
        Assert.Equal(docs + 1, ix.Count().Documents);
    }

    [Fact]
    public void Eval_reports_metrics_per_mode_on_beir_files()
    {
        var texts = GoldenTexts(30);
        var index = Path.Combine(_dir, "ix");
        var corpus = Path.Combine(_dir, "corpus.jsonl");
        File.WriteAllLines(corpus, texts.Select((t, i) => JsonSerializer.Serialize(new Dictionary<string, string> { ["_id"] = $"d{i}", ["title"] = "", ["text"] = t })));
        Assert.Equal(0, Run(IndexCommand.Create(), "add", "--index", index, "--model", TestPaths.TinyM3, "--input", corpus).ExitCode);
        var queries = Path.Combine(_dir, "queries.jsonl");
        File.WriteAllLines(queries, Enumerable.Range(0, 5).Select(i => JsonSerializer.Serialize(new Dictionary<string, string> { ["_id"] = $"q{i}", ["text"] = texts[i * 5] })));
        var qrels = Path.Combine(_dir, "qrels.tsv");
        File.WriteAllLines(qrels, ["query-id\tcorpus-id\tscore", .. Enumerable.Range(0, 5).Select(i => $"q{i}\td{i * 5}\t1")]);
        var (code, stdout, stderr) = Run(EvalCommand.Create(), "--index", index, "--queries", queries, "--qrels", qrels, "--modes", "dense,all");
        Assert.True(code == 0, stderr);
        var rows = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(["dense", "all"], rows.Select(r => r.GetProperty("mode").GetString()));
        // Each query is its relevant document's own text: dense ranks it first.
        Assert.Equal(1.0, rows[0].GetProperty("ndcg@10").GetDouble());
        Assert.Equal(1.0, rows[0].GetProperty("mrr@10").GetDouble());
        Assert.Equal(5, rows[0].GetProperty("queries").GetInt32());
    }
}
