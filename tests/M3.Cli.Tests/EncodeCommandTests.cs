using System.Text.Json;
using M3.Cli.Commands;
using M3.Core.Serialization;
using M3.Tests;

namespace M3.Cli.Tests;

/// <summary>Runs <c>m3 encode</c> and <c>m3 score</c> in-process against golden.json.</summary>
[Collection("Console")]
public sealed class EncodeCommandTests : IDisposable
{
    private readonly string _dir = TestPaths.NewTempDir("m3cliencode");
    private readonly string? _previousCache = Environment.GetEnvironmentVariable("M3_CACHE");

    public EncodeCommandTests() => Environment.SetEnvironmentVariable("M3_CACHE", Path.Combine(_dir, "cache"));

    public void Dispose()
    {
        Environment.SetEnvironmentVariable("M3_CACHE", _previousCache);
        Directory.Delete(_dir, true);
    }

    private static (int ExitCode, string Stderr) Run(System.CommandLine.Command command, params string[] args)
    {
        var (code, _, stderr) = CliRun.Invoke(command, args);
        return (code, stderr);
    }

    private static JsonElement Golden()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(TestPaths.TinyM3, "golden.json")));
        return doc.RootElement.Clone();
    }

    [Fact]
    public void Encode_writes_the_reference_outputs_in_input_order()
    {
        var items = Golden().GetProperty("items").EnumerateArray().Where(i => i.GetProperty("input_ids").GetArrayLength() < 1000).Take(30).ToList();
        var input = Path.Combine(_dir, "in.jsonl");
        File.WriteAllLines(input, items.Select(i => JsonSerializer.Serialize(new { text = i.GetProperty("text").GetString() })));
        var output = Path.Combine(_dir, "out.jsonl");
        var (code, stderr) = Run(EncodeCommand.Create(), "--model", TestPaths.TinyM3, "--input", input, "--output", output);
        Assert.True(code == 0, stderr);
        var lines = File.ReadAllLines(output);
        Assert.Equal(items.Count, lines.Length);
        for (int k = 0; k < items.Count; k++)
        {
            using var doc = JsonDocument.Parse(lines[k]);
            var e = EmbeddingJson.Read(doc.RootElement);
            var dense = items[k].GetProperty("dense").EnumerateArray().Select(x => x.GetDouble()).ToArray();
            for (int d = 0; d < dense.Length; d++) Assert.True(Math.Abs(dense[d] - e.Dense![d]) <= 2e-4);
            Assert.Equal(items[k].GetProperty("colbert").GetArrayLength(), e.Colbert!.Count);
            foreach (var p in items[k].GetProperty("sparse").EnumerateObject())
                if (p.Value.GetDouble() > 1e-3) Assert.True(Math.Abs(e.Sparse![int.Parse(p.Name)] - p.Value.GetDouble()) <= 2e-4);
        }
    }

    [Fact]
    public void Encode_writes_only_the_requested_outputs()
    {
        var input = Path.Combine(_dir, "in.jsonl");
        File.WriteAllLines(input, ["{\"text\": \"hello\"}", "{\"text\": \"world\"}"]);
        var output = Path.Combine(_dir, "out.jsonl");
        var (code, stderr) = Run(EncodeCommand.Create(), "--model", TestPaths.TinyM3, "--input", input, "--output", output, "--sparse");
        Assert.True(code == 0, stderr);
        foreach (var line in File.ReadAllLines(output))
        {
            using var doc = JsonDocument.Parse(line);
            Assert.Equal(["sparse"], doc.RootElement.EnumerateObject().Select(p => p.Name));
        }
    }

    [Fact]
    public void Encode_rejects_a_malformed_line_naming_it_and_writes_nothing()
    {
        var input = Path.Combine(_dir, "in.jsonl");
        File.WriteAllLines(input, ["{\"text\": \"hello\"}", "{\"text\": 5}"]);
        var output = Path.Combine(_dir, "out.jsonl");
        var (code, stderr) = Run(EncodeCommand.Create(), "--model", TestPaths.TinyM3, "--input", input, "--output", output);
        Assert.NotEqual(0, code);
        Assert.Contains("in.jsonl:2", stderr);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void Encode_cancelled_exits_130_says_so_and_leaves_no_output_file()
    {
        var input = Path.Combine(_dir, "in.jsonl");
        var output = Path.Combine(_dir, "out.jsonl");
        File.WriteAllLines(input, ["{\"text\": \"hello\"}"]);
        var (code, _, stderr) = CliRun.Invoke(EncodeCommand.Create(), new CancellationToken(canceled: true),
            "--model", TestPaths.TinyM3, "--input", input, "--output", output);
        Assert.Equal(130, code);
        Assert.Contains("cancelled", stderr);
        Assert.Empty(Directory.GetFiles(_dir, "*out.jsonl*"));
    }

    [Fact]
    public void Encode_fails_clearly_on_a_missing_model_folder()
    {
        var input = Path.Combine(_dir, "in.jsonl");
        File.WriteAllLines(input, ["{\"text\": \"hello\"}"]);
        var (code, stderr) = Run(EncodeCommand.Create(), "--model", Path.Combine(_dir, "nope"), "--input", input);
        Assert.NotEqual(0, code);
        Assert.Contains("nope", stderr);
    }

    [Fact]
    public void Score_gives_the_reference_pair_scores()
    {
        var g = Golden();
        var items = g.GetProperty("items").EnumerateArray().ToList();
        var pairs = g.GetProperty("pairs").EnumerateArray().Take(15).ToList();
        var input = Path.Combine(_dir, "pairs.jsonl");
        File.WriteAllLines(input, pairs.Select(p => JsonSerializer.Serialize(new
        {
            query = items[p.GetProperty("query").GetInt32()].GetProperty("text").GetString(),
            passage = items[p.GetProperty("passage").GetInt32()].GetProperty("text").GetString(),
        })));
        var output = Path.Combine(_dir, "scores.jsonl");
        var (code, stderr) = Run(ScoreCommand.Create(), "--model", TestPaths.TinyM3, "--input", input, "--output", output);
        Assert.True(code == 0, stderr);
        var lines = File.ReadAllLines(output);
        Assert.Equal(pairs.Count, lines.Length);
        for (int k = 0; k < pairs.Count; k++)
        {
            using var doc = JsonDocument.Parse(lines[k]);
            foreach (var key in new[] { "dense", "sparse", "colbert", "sparse+dense", "colbert+sparse+dense" })
                Assert.True(Math.Abs(pairs[k].GetProperty(key).GetDouble() - doc.RootElement.GetProperty(key).GetDouble()) <= 2e-4, $"pair {k} {key}");
        }
    }

    [Fact]
    public void Score_rejects_bad_weights()
    {
        var input = Path.Combine(_dir, "pairs.jsonl");
        File.WriteAllLines(input, ["{\"query\": \"a\", \"passage\": \"b\"}"]);
        var (code, stderr) = Run(ScoreCommand.Create(), "--model", TestPaths.TinyM3, "--input", input, "--weights", "1,2");
        Assert.NotEqual(0, code);
        Assert.Contains("three", stderr);
    }
}
