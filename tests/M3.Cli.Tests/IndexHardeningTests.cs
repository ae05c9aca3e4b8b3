using System.Diagnostics;
using System.Text.Json;
using M3.Cli.Commands;
using M3.Core.Inference;
using M3.Core.Scoring;
using M3.Retrieval;
using M3.Tests;

namespace M3.Cli.Tests;

/// <summary>m3 index add with encoded representations, and its refusals: repeated ids, bad options, another model, a damaged file.</summary>
[Collection("Console")]
public sealed class IndexHardeningTests : IDisposable
{
    private readonly string _dir = TestPaths.NewTempDir("m3cliindexhard");
    private readonly string? _previousCache = Environment.GetEnvironmentVariable("M3_CACHE");

    public IndexHardeningTests() => Environment.SetEnvironmentVariable("M3_CACHE", Path.Combine(_dir, "cache"));

    public void Dispose()
    {
        Environment.SetEnvironmentVariable("M3_CACHE", _previousCache);
        Directory.Delete(_dir, true);
    }

    private static (int ExitCode, string Stdout, string Stderr) Run(System.CommandLine.Command command, params string[] args) => CliRun.Invoke(command, args);

    private static readonly string[] Texts = ["The cat sat on the mat.", "Dogs bark at night.", "A bird sings in the morning.", "Rain falls on the roof.", "The sun is bright today."];

    private string Docs(IEnumerable<(string Id, string Text)> docs, string name = "docs.jsonl")
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllLines(path, docs.Select(d => JsonSerializer.Serialize(new { id = d.Id, text = d.Text })));
        return path;
    }

    [Fact]
    public void Encoded_representations_from_m3_encode_are_indexed_and_rank_like_the_reference()
    {
        var input = Docs(Texts.Select((t, i) => ($"d{i}", t)));
        var encoded = Path.Combine(_dir, "encoded.jsonl");
        var (code, _, stderr) = Run(EncodeCommand.Create(), "--model", TestPaths.TinyM3, "--input", input, "--output", encoded);
        Assert.True(code == 0, stderr);
        Assert.StartsWith("{\"id\":\"d0\"", File.ReadLines(encoded).First());
        var index = Path.Combine(_dir, "ix");
        (code, _, stderr) = Run(IndexCommand.Create(), "add", "--index", index, "--model", TestPaths.TinyM3, "--representations", encoded, "--colbert-precision", "int8");
        Assert.True(code == 0, stderr);
        // Adding more to the existing index needs no model.
        File.WriteAllLines(Path.Combine(_dir, "more.jsonl"), [File.ReadLines(encoded).First().Replace("\"d0\"", "\"extra\"")]);
        Assert.Equal(0, Run(IndexCommand.Create(), "add", "--index", index, "--representations", Path.Combine(_dir, "more.jsonl")).ExitCode);

        using var encoder = M3Encoder.Load(TestPaths.TinyM3, new M3LoadOptions { CacheDirectory = Path.Combine(_dir, "cache", "graphs") });
        var docs = encoder.Encode(Texts);
        var q = encoder.Encode(["a cat"])[0];
        var expected = docs.Select((d, i) => (Id: $"d{i}", S: M3Scores.Dense(q.Dense, d.Dense), I: i)).Append((Id: "extra", S: M3Scores.Dense(q.Dense, docs[0].Dense), I: 5))
            .OrderByDescending(x => x.S).ThenBy(x => x.I).Select(x => x.Id);
        (code, var stdout, stderr) = Run(SearchCommand.Create(), "--index", index, "--query", "a cat", "--mode", "dense", "--exact");
        Assert.True(code == 0, stderr);
        Assert.Equal(expected, stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("id").GetString()));
        Assert.Contains("\"colbert\":\"int8\"", Run(IndexCommand.Create(), "info", "--index", index).Stdout);
    }

    [Fact]
    public void Bad_representation_lines_are_reported_with_file_and_line()
    {
        var path = Path.Combine(_dir, "bad.jsonl");
        File.WriteAllLines(path, ["{\"id\": \"a\", \"dense\": [0.1, 0.2], \"sparse\": {\"5\": 0.3}}"]);
        var (code, _, stderr) = Run(IndexCommand.Create(), "add", "--index", Path.Combine(_dir, "ix"), "--model", TestPaths.TinyM3, "--representations", path, "--no-colbert");
        Assert.NotEqual(0, code);
        Assert.Contains("bad.jsonl:1", stderr);
        Assert.Contains("\"dense\"", stderr);
        File.WriteAllLines(path, ["{\"id\": \"a\", \"dense\": \"x\"}"]);
        (code, _, stderr) = Run(IndexCommand.Create(), "add", "--index", Path.Combine(_dir, "ix"), "--model", TestPaths.TinyM3, "--representations", path);
        Assert.NotEqual(0, code);
        Assert.Contains("bad.jsonl:1", stderr);
        Assert.DoesNotContain("   at ", stderr);
    }

    [Theory]
    [InlineData("1")]
    [InlineData("8")]
    public void A_repeated_id_fails_with_both_lines_whatever_the_batch_size_and_adds_nothing(string batch)
    {
        var input = Docs(Texts.Select((t, i) => (i == 4 ? "d1" : $"d{i}", t)));
        var index = Path.Combine(_dir, "ix");
        var (code, _, stderr) = Run(IndexCommand.Create(), "add", "--index", index, "--model", TestPaths.TinyM3, "--input", input, "--batch-size", batch);
        Assert.NotEqual(0, code);
        Assert.Contains("docs.jsonl:5", stderr);
        Assert.Contains("line 2", stderr);
        Assert.False(File.Exists(Path.Combine(index, "index.db")));
    }

    [Fact]
    public void Bad_passage_options_are_refused_before_an_index_is_created_and_new_index_options_cannot_change_one()
    {
        var input = Docs(Texts.Select((t, i) => ($"d{i}", t)));
        var index = Path.Combine(_dir, "ix");
        var (code, _, stderr) = Run(IndexCommand.Create(), "add", "--index", index, "--model", TestPaths.TinyM3, "--input", input, "--passage-tokens", "16", "--passage-overlap", "16");
        Assert.NotEqual(0, code);
        Assert.Contains("overlap", stderr);
        Assert.False(Directory.Exists(index));
        Assert.Equal(0, Run(IndexCommand.Create(), "add", "--index", index, "--model", TestPaths.TinyM3, "--input", input, "--colbert-precision", "float16").ExitCode);
        (code, _, stderr) = Run(IndexCommand.Create(), "add", "--index", index, "--model", TestPaths.TinyM3, "--input", input, "--no-colbert");
        Assert.NotEqual(0, code);
        Assert.Contains("float16", stderr);
        Assert.Equal(0, Run(IndexCommand.Create(), "add", "--index", index, "--model", TestPaths.TinyM3, "--input", input).ExitCode);
    }

    [Fact]
    public void Documents_from_another_checkpoint_are_refused()
    {
        var input = Docs(Texts.Select((t, i) => ($"d{i}", t)));
        var index = Path.Combine(_dir, "ix");
        Assert.Equal(0, Run(IndexCommand.Create(), "add", "--index", index, "--model", TestPaths.TinyM3, "--input", input).ExitCode);
        // The same files with one byte of the weights changed: same width, another model.
        var other = Path.Combine(_dir, "other-model");
        Directory.CreateDirectory(other);
        foreach (var f in Directory.EnumerateFiles(TestPaths.TinyM3)) File.Copy(f, Path.Combine(other, Path.GetFileName(f)));
        var weights = Path.Combine(other, "model.safetensors");
        var bytes = File.ReadAllBytes(weights);
        bytes[^3] ^= 1;
        File.WriteAllBytes(weights, bytes);
        var (code, _, stderr) = Run(IndexCommand.Create(), "add", "--index", index, "--model", other, "--input", input);
        Assert.NotEqual(0, code);
        Assert.Contains("another checkpoint", stderr);
    }

    [Fact]
    public void Adding_to_a_damaged_index_fails_and_says_so()
    {
        var input = Docs(Enumerable.Range(0, 60).Select(i => ($"d{i}", Texts[i % Texts.Length] + $" {i}")));
        var index = Path.Combine(_dir, "ix");
        Assert.Equal(0, Run(IndexCommand.Create(), "add", "--index", index, "--model", TestPaths.TinyM3, "--input", input).ExitCode);
        var db = Path.Combine(index, "index.db");
        var bytes = File.ReadAllBytes(db);
        for (int i = 4096 + 100; i < bytes.Length; i += 131) bytes[i] ^= 0x5a;
        File.WriteAllBytes(db, bytes);
        var (code, _, stderr) = Run(IndexCommand.Create(), "add", "--index", index, "--model", TestPaths.TinyM3, "--input", Docs([("new", "new text")], "new.jsonl"));
        Assert.NotEqual(0, code);
        Assert.Contains("index.db", stderr);
        Assert.Contains("damaged", stderr);
        Assert.DoesNotContain("added", stderr);
    }

    [Fact]
    public async Task Searches_while_another_process_ingests_all_succeed()
    {
        var pool = Enumerable.Range(0, 3000).Select(i => ($"d{i}", $"{Texts[i % 5]} {Texts[(i * 3 + 1) % 5]} number {i}")).ToList();
        var index = Path.Combine(_dir, "ix");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { typeof(IndexCommand).Assembly.Location, "index", "add", "--index", index, "--model", TestPaths.TinyM3, "--input", Docs(pool), "--batch-size", "16" })
            start.ArgumentList.Add(a);
        start.Environment["M3_CACHE"] = Path.Combine(_dir, "cache");
        using var process = Process.Start(start)!;
        var stderrTask = process.StandardError.ReadToEndAsync();
        int searches = 0;
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (!process.HasExited && DateTime.UtcNow < deadline)
        {
            if (!File.Exists(Path.Combine(index, "index.db"))) { Thread.Sleep(50); continue; }
            foreach (var mode in new[] { "hybrid", "sparse", "dense" })
            {
                var (code, stdout, stderr) = Run(SearchCommand.Create(), "--index", index, "--query", "cat", "--mode", mode, "--top-k", "3");
                Assert.True(code == 0, stderr);
                Assert.DoesNotContain("Exception", stderr);
                searches++;
            }
        }
        if (!process.HasExited) process.Kill(entireProcessTree: true);
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, await stderrTask);
        Assert.True(searches >= 3, $"only {searches} searches ran during the ingest");
    }
}
