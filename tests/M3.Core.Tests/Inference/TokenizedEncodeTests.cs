using M3.Core.Inference;

namespace M3.Core.Tests.Inference;

/// <summary>The ids-level path the server uses (tokenize once, carry the ids, encode) gives what encoding the text gives.</summary>
public sealed class TokenizedEncodeTests(EncoderFixture fixture) : IClassFixture<EncoderFixture>
{
    private IReadOnlyList<string> Texts => fixture.Golden.Items.Where(i => i.InputIds.Length is > 20 and < 2000).Select(i => i.Text).ToList();

    [Fact]
    public void Untruncated_ids_are_cut_as_the_tokenizer_cuts_the_text()
    {
        var options = new M3EncodeOptions { MaxLength = 16 };
        var whole = Texts.Select(t => fixture.Encoder.Tokenizer.EncodeToIds(t, int.MaxValue)).ToList();
        Assert.All(whole, ids => Assert.True(ids.Length > 16));
        var fromIds = fixture.Encoder.EncodeTokenized(whole, options);
        var fromTokenizerCut = fixture.Encoder.EncodeIds(Texts.Select(t => fixture.Encoder.Tokenizer.EncodeToIds(t, 16)).ToList(), options);
        for (int i = 0; i < Texts.Count; i++)
        {
            Assert.Equal(16, fromIds[i].TokenCount);
            Assert.Equal(fromTokenizerCut[i].Dense, fromIds[i].Dense);
            Assert.Equal(fromTokenizerCut[i].Sparse!.Ids.ToArray(), fromIds[i].Sparse!.Ids.ToArray());
            Assert.Equal(fromTokenizerCut[i].Colbert!.Data, fromIds[i].Colbert!.Data);
        }
    }

    [Fact]
    public void With_mcls_one_tokenization_gives_the_mcls_dense_and_the_plain_sparse()
    {
        var options = new M3EncodeOptions { MaxLength = 24, Mcls = true, MclsInterval = 8 };
        var tokenized = Texts.Select(t => fixture.Encoder.Tokenize(t, options)).ToList();
        Assert.All(tokenized, (ids, i) => Assert.Equal(fixture.Encoder.Tokenizer.EncodeToIds(Texts[i], int.MaxValue), ids));
        var results = fixture.Encoder.EncodeTokenized(tokenized, options);
        var plain = fixture.Encoder.Encode(Texts, options with { Mcls = false, Outputs = M3Outputs.Sparse | M3Outputs.Colbert });
        var mclsDense = fixture.Encoder.Encode(Texts, options with { Outputs = M3Outputs.Dense });
        for (int i = 0; i < Texts.Count; i++)
        {
            Assert.Equal(mclsDense[i].Dense, results[i].Dense);
            Assert.Equal(plain[i].Sparse!.Ids.ToArray(), results[i].Sparse!.Ids.ToArray());
            Assert.Equal(plain[i].Colbert!.Data, results[i].Colbert!.Data);
        }
    }
}
