using System.Text;
using M3.Cli.Commands;
using M3.Cli.Infrastructure;
using M3.Tests;

namespace M3.Cli.Tests;

[Collection("Console")]
public sealed class JsonLinesReaderTests : IDisposable
{
    private readonly string _dir = TestPaths.NewTempDir("m3clijsonl");

    public void Dispose() => Directory.Delete(_dir, true);

    private string Write(params byte[][] lines)
    {
        var path = Path.Combine(_dir, "in.jsonl");
        File.WriteAllBytes(path, lines.SelectMany(l => l.Concat("\n"u8.ToArray())).ToArray());
        return path;
    }

    private static byte[] Text(string text) => Encoding.UTF8.GetBytes($$"""{"text": "{{text}}"}""");

    [Fact]
    public void Invalid_utf8_names_the_file_and_its_line_even_far_into_the_file()
    {
        var good = Enumerable.Range(0, 300).Select(i => Text($"line {i} " + new string('x', 100)));
        var bad = "{\"text\": \"caf"u8.ToArray().Concat(new byte[] { 0xE9 }).Concat("\"}"u8.ToArray()).ToArray(); // Latin-1 é
        var path = Write([.. good, bad, Text("after")]);

        var e = Assert.Throws<CliError>(() => JsonLinesReader.Read(path).ToList());

        Assert.Contains($"{path}:301:", e.Message);
        Assert.Contains("invalid UTF-8 at byte 14", e.Message);
        Assert.Contains("save the file as UTF-8", e.Message);
    }

    [Theory]
    [InlineData(@"\ud800")]
    [InlineData(@"a\udc00b")]
    [InlineData(@"\udc00\ud800")]
    [InlineData(@"\ud83d")]
    public void Lone_surrogate_escape_names_the_file_line_and_field(string escaped)
    {
        var path = Write(Text("fine"), Text(escaped));

        var e = Assert.Throws<CliError>(() => JsonLinesReader.Read(path).ToList());

        Assert.Contains($"{path}:2:", e.Message);
        Assert.Contains("field \"text\"", e.Message);
        Assert.Contains("lone UTF-16 surrogate", e.Message);
    }

    [Fact]
    public void Surrogate_pairs_bom_crlf_and_blank_lines_read_as_text()
    {
        var path = Path.Combine(_dir, "ok.jsonl");
        File.WriteAllBytes(path, [.. "\uFEFF"u8, .. Text(@"\ud83d\ude00 caf\u00e9"), .. "\r\n\r\n"u8, .. Text("é 😀"), .. "\r\n"u8]);

        var lines = JsonLinesReader.Read(path).ToList();

        Assert.Equal([1, 3], lines.Select(l => l.Line));
        Assert.Equal("😀 café", lines[0].Value.RequireString("text", path, 1));
        Assert.Equal("é 😀", lines[1].Value.RequireString("text", path, 3));
    }

    [Fact]
    public void Tokenize_of_a_file_with_invalid_utf8_fails_naming_file_and_line()
    {
        var path = Write(Text("fine"), [.. "{\"text\": \""u8, 0xFF, 0xFE, .. "\"}"u8]);
        var output = Path.Combine(_dir, "out.jsonl");

        var (code, _, stderr) = CliRun.Invoke(TokenizeCommand.Create(), "--model", TestPaths.TinyM3, "--input", path, "--output", output);

        Assert.NotEqual(0, code);
        Assert.Contains($"{path}:2: invalid UTF-8", stderr);
        Assert.False(File.Exists(output));
    }
}
