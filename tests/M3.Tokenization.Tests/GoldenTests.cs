using System.Text.Json;
using M3.Tests;

namespace M3.Tokenization.Tests;

/// <summary>Every line of the reference's tokenizer_golden.jsonl, from each of the two tokenizer files.</summary>
public class GoldenTests
{
    private static readonly string GoldenPath = Path.Combine(TestPaths.TinyM3, "tokenizer_golden.jsonl");

    internal static IEnumerable<(int Line, string Text, int[] Ids)> GoldenLines()
    {
        int line = 0;
        foreach (var json in File.ReadLines(GoldenPath))
        {
            line++;
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            yield return (line, root.GetProperty("text").GetString()!,
                root.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray());
        }
    }

    private static void AssertAllGoldenLines(XlmRobertaTokenizer tokenizer)
    {
        var failures = new List<string>();
        int total = 0;
        foreach (var (line, text, expected) in GoldenLines())
        {
            total++;
            var actual = tokenizer.Encode(text).Ids;
            if (!actual.SequenceEqual(expected))
                failures.Add($"line {line} {JsonSerializer.Serialize(text)}: expected [{string.Join(",", expected)}] got [{string.Join(",", actual)}]");
            else if (!tokenizer.EncodeToIds(text).SequenceEqual(expected))
                failures.Add($"line {line}: EncodeToIds differs from Encode");
        }
        Assert.True(total > 6000, $"golden file has only {total} lines");
        Assert.True(failures.Count == 0, $"{failures.Count} of {total} lines differ:\n" + string.Join("\n", failures.Take(20)));
    }

    [Fact]
    public void Tokenizer_json_matches_every_golden_line() =>
        AssertAllGoldenLines(XlmRobertaTokenizer.Load(TestPaths.TinyM3));

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Sentence_piece_model_alone_matches_every_golden_line(bool withConfig)
    {
        var dir = TestPaths.NewTempDir("m3tok");
        try
        {
            File.Copy(Path.Combine(TestPaths.TinyM3, "sentencepiece.bpe.model"), Path.Combine(dir, "sentencepiece.bpe.model"));
            if (withConfig) File.Copy(Path.Combine(TestPaths.TinyM3, "tokenizer_config.json"), Path.Combine(dir, "tokenizer_config.json"));
            AssertAllGoldenLines(XlmRobertaTokenizer.Load(dir));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
