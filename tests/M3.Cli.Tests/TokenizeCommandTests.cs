using System.Text.Json;
using M3.Cli.Commands;
using M3.Tests;

namespace M3.Cli.Tests;

/// <summary>Runs <c>m3 tokenize</c> in-process. Console.Error is process-wide, hence the serializing collection.</summary>
[Collection("Console")]
public sealed class TokenizeCommandTests : IDisposable
{
    private readonly string _dir = TestPaths.NewTempDir("m3clitok");

    public void Dispose() => Directory.Delete(_dir, true);

    private static (int ExitCode, string Stderr) Run(params string[] args)
    {
        var (code, _, stderr) = CliRun.Invoke(TokenizeCommand.Create(), args);
        return (code, stderr);
    }

    private string Input(params string[] lines)
    {
        var path = Path.Combine(_dir, "in.jsonl");
        File.WriteAllLines(path, lines);
        return path;
    }

    private static List<(int[] Ids, string[] Tokens)> ReadOutput(string path) =>
        File.ReadAllLines(path).Select(line =>
        {
            using var doc = JsonDocument.Parse(line);
            return (doc.RootElement.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
                    doc.RootElement.GetProperty("tokens").EnumerateArray().Select(e => e.GetString()!).ToArray());
        }).ToList();

    [Fact]
    public void GoodInput_WritesOneLinePerTextInOrder()
    {
        var golden = File.ReadLines(Path.Combine(TestPaths.TinyM3, "tokenizer_golden.jsonl")).Take(50).ToArray();
        var output = Path.Combine(_dir, "out.jsonl");
        var (code, stderr) = Run("--model", TestPaths.TinyM3, "--input", Input(golden), "--output", output);
        Assert.True(code == 0, stderr);
        var lines = ReadOutput(output);
        Assert.Equal(golden.Length, lines.Count);
        for (int i = 0; i < golden.Length; i++)
        {
            using var doc = JsonDocument.Parse(golden[i]);
            Assert.Equal(doc.RootElement.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()), lines[i].Ids);
            Assert.Equal(lines[i].Ids.Length, lines[i].Tokens.Length);
        }
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));
    }

    [Fact]
    public void TextArgument_AndMaxLength_Truncate()
    {
        var output = Path.Combine(_dir, "out.jsonl");
        var (code, stderr) = Run("--model", TestPaths.TinyM3, "--max-length", "4", "--output", output, "one two three four five");
        Assert.True(code == 0, stderr);
        var line = Assert.Single(ReadOutput(output));
        Assert.Equal(4, line.Ids.Length);
        Assert.Equal(["<s>", "</s>"], [line.Tokens[0], line.Tokens[^1]]);
    }

    [Fact]
    public void OverLongText_IsTruncatedWithAWarningNamingTheLine()
    {
        var output = Path.Combine(_dir, "out.jsonl");
        var input = Input("""{"text": "short"}""", """{"text": "one two three four five six seven"}""");
        var (code, stderr) = Run("--model", TestPaths.TinyM3, "--input", input, "--output", output, "--max-length", "5");
        Assert.True(code == 0, stderr);
        Assert.Contains($"{input}:2: text is longer than 5 tokens", stderr);
        Assert.DoesNotContain($"{input}:1", stderr);
        Assert.Equal(5, ReadOutput(output)[1].Ids.Length);
    }

    [Fact]
    public void InvalidJsonLine_NamesTheLineAndLeavesNoOutput()
    {
        var output = Path.Combine(_dir, "out.jsonl");
        var input = Input("""{"text": "fine"}""", """{"text": "also fine"}""", """{"text": broken""");
        var (code, stderr) = Run("--model", TestPaths.TinyM3, "--input", input, "--output", output);
        Assert.Equal(1, code);
        Assert.Contains($"{input}:3", stderr);
        Assert.False(File.Exists(output));
        Assert.Single(Directory.GetFiles(_dir)); // only the input: no temp file left behind
    }

    [Fact]
    public void LineWithoutText_NamesTheLine()
    {
        var (code, stderr) = Run("--model", TestPaths.TinyM3, "--input", Input("""{"text": "ok"}""", """{"txt": "no"}"""), "--output", Path.Combine(_dir, "o.jsonl"));
        Assert.Equal(1, code);
        Assert.Contains(":2: expected a string field \"text\"", stderr);
    }

    [Fact]
    public void MissingModelFolder_FailsClearly()
    {
        var missing = Path.Combine(_dir, "no-model");
        var (code, stderr) = Run("--model", missing, "hello");
        Assert.Equal(1, code);
        Assert.Contains(missing, stderr);
    }

    [Fact]
    public void CorruptTokenizerFile_FailsNamingIt()
    {
        var model = Directory.CreateDirectory(Path.Combine(_dir, "model")).FullName;
        File.WriteAllText(Path.Combine(model, "tokenizer.json"), "{\"model\": ");
        var (code, stderr) = Run("--model", model, "hello");
        Assert.Equal(1, code);
        Assert.Contains(Path.Combine(model, "tokenizer.json"), stderr);
    }

    [Fact]
    public void TextAndInputTogether_AreRejected()
    {
        var (code, stderr) = Run("--model", TestPaths.TinyM3, "--input", Input("""{"text": "x"}"""), "hello");
        Assert.Equal(1, code);
        Assert.Contains("exactly one", stderr);
    }
}
