using M3.Tests;

namespace M3.Tokenization.Tests;

public class EdgeCaseTests
{
    private static readonly XlmRobertaTokenizer Tokenizer = XlmRobertaTokenizer.Load(TestPaths.TinyM3);
    private static readonly int Metaspace = Tokenizer.TokenToId("\u2581")!.Value;

    private static int[] Content(string text) => Tokenizer.Encode(text).Ids[1..^1];

    [Fact]
    public void Empty_text_is_just_bos_eos()
    {
        var result = Tokenizer.Encode("");
        Assert.Equal([XlmRobertaTokenizer.BosId, XlmRobertaTokenizer.EosId], result.Ids);
        Assert.Equal(["<s>", "</s>"], result.Tokens);
    }

    [Theory]
    [InlineData(" ")]
    [InlineData("     ")]
    [InlineData("\u3000")] // ideographic space: NFKC makes it a space
    public void Whitespace_only_is_one_metaspace(string text) =>
        Assert.Equal([Metaspace], Content(text));

    [Fact]
    public void Repeated_spaces_collapse_to_one()
    {
        Assert.Equal(Content("Hello world"), Content("Hello     world"));
        Assert.Equal(Content(" Hello world "), Content("   Hello  world   "));
        Assert.NotEqual(Content("Hello world"), Content(" Hello world "));
    }

    [Fact]
    public void Control_characters_are_removed()
    {
        Assert.Equal(Content("bold"), Content("bo\u0007ld\u0001"));
        Assert.Equal(Content("[1mbold"), Content("\u001b[1mbold"));
    }

    [Fact]
    public void Run_of_unknown_characters_is_one_unk()
    {
        var result = Tokenizer.Encode("😀🚀😀 x");
        Assert.Equal(Metaspace, result.Ids[1]);
        Assert.Equal(XlmRobertaTokenizer.UnkId, result.Ids[2]);
        Assert.Equal("😀🚀😀", result.Tokens[2]);
        Assert.Equal((0, 6), result.Offsets[2]);
        Assert.Single(result.Ids, XlmRobertaTokenizer.UnkId);
    }

    [Fact]
    public void Unknown_characters_separated_by_a_known_one_are_two_unks()
    {
        var ids = Content("😀a😀");
        Assert.Equal(2, ids.Count(id => id == XlmRobertaTokenizer.UnkId));
    }

    [Fact]
    public void Special_tokens_in_text_are_matched_before_normalization()
    {
        var result = Tokenizer.Encode("a<s>b</s><pad><unk>");
        Assert.Equal([.. Content("a"), 0, .. Content("b"), 2, 1, 3], result.Ids[1..^1]);
        Assert.Equal("<s>", result.Tokens[Array.IndexOf(result.Ids, 0, 1)]);
    }

    [Fact]
    public void Mask_token_strips_whitespace_on_its_left()
    {
        var result = Tokenizer.Encode("Paris is the  <mask> of France");
        int mask = Array.IndexOf(result.Ids, Tokenizer.MaskId);
        Assert.True(mask > 0);
        Assert.Equal((12, 20), result.Offsets[mask]); // both spaces belong to <mask>
        Assert.Equal(Content("Paris is the"), result.Ids[1..mask]);
        Assert.Equal(Content(" of France"), result.Ids[(mask + 1)..^1]);
        Assert.Equal(Tokenizer.VocabularySize - 1, Tokenizer.MaskId);
    }

    [Fact]
    public void Full_width_characters_normalize_like_ascii()
    {
        Assert.Equal(Content("ABC123"), Content("ＡＢＣ１２３"));
        var result = Tokenizer.Encode("ＡＢＣ");
        Assert.Equal(0, result.Offsets[1].Start);
        Assert.Equal(3, result.Offsets[^2].End);
    }

    [Fact]
    public void Emoji_is_unknown_with_surrogate_pair_offsets()
    {
        var result = Tokenizer.Encode("hi 😀");
        int unk = Array.IndexOf(result.Ids, XlmRobertaTokenizer.UnkId);
        Assert.Equal("😀", "hi 😀"[result.Offsets[unk].Start..result.Offsets[unk].End]);
    }

    [Fact]
    public void Truncation_keeps_first_content_tokens_and_specials()
    {
        string text = string.Join(" ", Enumerable.Range(0, 200).Select(i => $"word{i}"));
        var full = Tokenizer.Encode(text, maxLength: 100_000).Ids;
        Assert.True(full.Length > 50);
        foreach (int max in new[] { 2, 3, 10, 50 })
        {
            var truncated = Tokenizer.Encode(text, max);
            Assert.Equal(max, truncated.Ids.Length);
            Assert.Equal([.. full[..(max - 1)], XlmRobertaTokenizer.EosId], truncated.Ids);
            Assert.Equal(max, truncated.Tokens.Length);
            Assert.Equal(max, truncated.Offsets.Length);
            Assert.Equal(truncated.Ids, Tokenizer.EncodeToIds(text, max));
        }
        Assert.Equal(full, Tokenizer.Encode(text, full.Length).Ids);
        Assert.False(Tokenizer.Encode(text, full.Length).Truncated);
        Assert.True(Tokenizer.Encode(text, full.Length - 1).Truncated);
    }

    [Fact]
    public void Truncated_is_false_when_the_rest_produces_no_tokens()
    {
        int fit = Tokenizer.Encode("a b").Ids.Length;
        Assert.False(Tokenizer.Encode("a b\u0001", fit).Truncated); // the control char normalizes away
        Assert.True(Tokenizer.Encode("a b<s>", fit).Truncated);
    }

    [Fact]
    public void Truncation_defaults_to_model_max_length()
    {
        Assert.Equal(8192, Tokenizer.ModelMaxLength);
        string text = string.Concat(Enumerable.Repeat("a ", 9000));
        Assert.Equal(8192, Tokenizer.Encode(text).Ids.Length);
    }

    [Fact]
    public void Max_length_below_two_is_rejected() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Tokenizer.Encode("x", 1));

    [Fact]
    public void Encoding_from_many_threads_gives_the_same_ids()
    {
        var texts = GoldenTests.GoldenLines().Take(400).Select(l => l.Text).ToArray();
        var expected = texts.Select(t => Tokenizer.EncodeToIds(t)).ToArray();
        var actual = new int[texts.Length][];
        Parallel.For(0, texts.Length, i => actual[i] = Tokenizer.EncodeToIds(texts[i]));
        Assert.Equal(expected, actual);
    }
}
