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
    public void Good_input_writes_one_line_per_text_in_order()
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
    public void Text_argument_and_max_length_truncate()
    {
        var output = Path.Combine(_dir, "out.jsonl");
        var (code, stderr) = Run("--model", TestPaths.TinyM3, "--max-length", "4", "--output", output, "one two three four five");
        Assert.True(code == 0, stderr);
        var line = Assert.Single(ReadOutput(output));
        Assert.Equal(4, line.Ids.Length);
        Assert.Equal(["<s>", "</s>"], [line.Tokens[0], line.Tokens[^1]]);
    }

    [Fact]
    public void Over_long_text_is_truncated_with_a_warning_naming_the_line()
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
    public void Invalid_json_line_names_the_line_and_leaves_no_output()
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
    public void Line_without_text_names_the_line()
    {
        var (code, stderr) = Run("--model", TestPaths.TinyM3, "--input", Input("""{"text": "ok"}""", """{"txt": "no"}"""), "--output", Path.Combine(_dir, "o.jsonl"));
        Assert.Equal(1, code);
        Assert.Contains(":2: expected a string field \"text\"", stderr);
    }

    [Fact]
    public void Missing_model_folder_fails_clearly()
    {
        var missing = Path.Combine(_dir, "no-model");
        var (code, stderr) = Run("--model", missing, "hello");
        Assert.Equal(1, code);
        Assert.Contains(missing, stderr);
    }

    [Fact]
    public void Corrupt_tokenizer_file_fails_naming_it()
    {
        var model = Directory.CreateDirectory(Path.Combine(_dir, "model")).FullName;
        File.WriteAllText(Path.Combine(model, "tokenizer.json"), "{\"model\": ");
        var (code, stderr) = Run("--model", model, "hello");
        Assert.Equal(1, code);
        Assert.Contains(Path.Combine(model, "tokenizer.json"), stderr);
    }

    [Fact]
    public void Text_and_input_together_are_rejected()
    {
        var (code, stderr) = Run("--model", TestPaths.TinyM3, "--input", Input("""{"text": "x"}"""), "hello");
        Assert.Equal(1, code);
        Assert.Contains("exactly one", stderr);
    }
}
