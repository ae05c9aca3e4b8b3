using M3.Tests;

namespace M3.Tokenization.Tests;

public class OffsetAndDecodeTests
{
    private static readonly XlmRobertaTokenizer Tokenizer = XlmRobertaTokenizer.Load(TestPaths.TinyM3);

    [Fact]
    public void Offsets_point_at_the_original_substrings()
    {
        const string text = "Hello, world!  How are you?";
        var result = Tokenizer.Encode(text);
        Assert.Equal((0, 0), result.Offsets[0]);
        Assert.Equal((0, 0), result.Offsets[^1]);
        for (int i = 1; i < result.Ids.Length - 1; i++)
        {
            var (start, end) = result.Offsets[i];
            Assert.Equal(result.Tokens[i].Replace('\u2581', ' ').Trim(), text[start..end].Trim());
        }
    }

    [Fact]
    public void Offsets_are_ordered_and_inside_the_text_on_every_golden_line()
    {
        foreach (var (line, text, _) in GoldenTests.GoldenLines())
        {
            var result = Tokenizer.Encode(text);
            int previousEnd = 0;
            for (int i = 1; i < result.Ids.Length - 1; i++)
            {
                var (start, end) = result.Offsets[i];
                Assert.True(start >= previousEnd - 1 && start <= end && end <= text.Length,
                    $"line {line}: token {i} '{result.Tokens[i]}' has offsets ({start},{end}) after {previousEnd} in a {text.Length}-char text");
                previousEnd = end;
            }
        }
    }

    [Fact]
    public void Token_strings_are_vocabulary_pieces()
    {
        var result = Tokenizer.Encode("Привет, мир! Hello");
        for (int i = 0; i < result.Ids.Length; i++) Assert.Equal(Tokenizer.IdToToken(result.Ids[i]), result.Tokens[i]);
    }

    [Theory]
    [InlineData("Hello, world! How are you?")]
    [InlineData("Привет, мир!")]
    [InlineData("naïve café")]
    [InlineData("a <mask> b")]
    public void Decode_RoundTripsNormalizedText(string text)
    {
        var ids = Tokenizer.Encode(text).Ids;
        Assert.Equal(text.Replace(" <mask>", ""), Tokenizer.Decode(ids));
    }

    [Fact]
    public void Decode_keeps_special_tokens_when_asked()
    {
        var ids = Tokenizer.Encode("Hello world").Ids;
        Assert.Equal("<s> Hello world</s>", Tokenizer.Decode(ids, skipSpecialTokens: false));
        Assert.Equal("", Tokenizer.Decode([]));
    }

    [Fact]
    public void Id_to_token_and_token_to_id_are_inverse()
    {
        for (int id = 0; id < Tokenizer.VocabularySize; id++)
        {
            Assert.Equal(id, Tokenizer.TokenToId(Tokenizer.IdToToken(id)));
        }
        Assert.Null(Tokenizer.TokenToId("no such piece in any vocabulary 🙂"));
        Assert.Throws<ArgumentOutOfRangeException>(() => Tokenizer.IdToToken(Tokenizer.VocabularySize));
        Assert.Throws<ArgumentOutOfRangeException>(() => Tokenizer.Decode([-1]));
    }
}
