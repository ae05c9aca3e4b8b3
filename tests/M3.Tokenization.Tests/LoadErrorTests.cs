using System.Text;
using System.Text.Json.Nodes;
using M3.Tests;

namespace M3.Tokenization.Tests;

/// <summary>Bad tokenizer files fail with an exception naming the file and what was expected.</summary>
public sealed class LoadErrorTests : IDisposable
{
    private readonly string _dir = TestPaths.NewTempDir("m3tokerr");
    private static readonly string FixtureJson = Path.Combine(TestPaths.TinyM3, "tokenizer.json");
    private static readonly string FixtureModel = Path.Combine(TestPaths.TinyM3, "sentencepiece.bpe.model");

    public void Dispose() => Directory.Delete(_dir, true);

    private string Write(string name, byte[] content)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, content);
        return path;
    }

    private string WriteJson(Action<JsonNode> edit)
    {
        var node = JsonNode.Parse(File.ReadAllText(FixtureJson))!;
        edit(node);
        return Write("tokenizer.json", Encoding.UTF8.GetBytes(node.ToJsonString()));
    }

    [Fact]
    public void MissingFolder_NamesTheFolder()
    {
        var missing = Path.Combine(_dir, "nope");
        var e = Assert.Throws<TokenizerException>(() => XlmRobertaTokenizer.Load(missing));
        Assert.Contains(missing, e.Message);
    }

    [Fact]
    public void FolderWithoutTokenizerFiles_SaysWhatWasExpected()
    {
        var e = Assert.Throws<TokenizerException>(() => XlmRobertaTokenizer.Load(_dir));
        Assert.Contains("tokenizer.json", e.Message);
        Assert.Contains("sentencepiece.bpe.model", e.Message);
    }

    [Fact]
    public void MissingFile_NamesTheFile()
    {
        var path = Path.Combine(_dir, "tokenizer.json");
        Assert.Contains(path, Assert.Throws<TokenizerException>(() => XlmRobertaTokenizer.FromTokenizerJson(path)).Message);
        var model = Path.Combine(_dir, "sentencepiece.bpe.model");
        Assert.Contains(model, Assert.Throws<TokenizerException>(() => XlmRobertaTokenizer.FromSentencePieceModel(model)).Message);
    }

    [Fact]
    public void TruncatedTokenizerJson_IsInvalidData()
    {
        var bytes = File.ReadAllBytes(FixtureJson);
        var path = Write("tokenizer.json", bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<TokenizerException>(() => XlmRobertaTokenizer.Load(_dir));
        Assert.Contains(path, e.Message);
        Assert.Contains("tokenizer.json", e.Message);
    }

    [Fact]
    public void BpeTokenizerJson_IsNotSupported()
    {
        var path = WriteJson(n => n["model"] = JsonNode.Parse("""{"type":"BPE","vocab":{"a":0},"merges":[]}"""));
        var e = Assert.Throws<TokenizerException>(() => XlmRobertaTokenizer.FromTokenizerJson(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("'BPE'", e.Message);
        Assert.Contains("Unigram", e.Message);
    }

    [Fact]
    public void VocabEntryOfWrongShape_IsInvalidData()
    {
        var path = WriteJson(n => n["model"]!["vocab"]!.AsArray()[5] = JsonNode.Parse("""["s"]"""));
        var e = Assert.Throws<TokenizerException>(() => XlmRobertaTokenizer.FromTokenizerJson(path));
        Assert.Contains("model.vocab[5]", e.Message);
    }

    [Fact]
    public void CorruptCharsMap_IsInvalidData()
    {
        var path = WriteJson(n => n["normalizer"]!["normalizers"]![0]!["precompiled_charsmap"] = "/////wAAAAA=");
        var e = Assert.Throws<TokenizerException>(() => XlmRobertaTokenizer.FromTokenizerJson(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("precompiled_charsmap", e.Message);
    }

    [Fact]
    public void UnsupportedPreTokenizer_IsNotSupported()
    {
        var path = WriteJson(n => n["pre_tokenizer"] = JsonNode.Parse("""{"type":"ByteLevel"}"""));
        Assert.Contains("Metaspace", Assert.Throws<TokenizerException>(() => XlmRobertaTokenizer.FromTokenizerJson(path)).Message);
    }

    [Fact]
    public void TruncatedSentencePieceModel_IsInvalidData()
    {
        var bytes = File.ReadAllBytes(FixtureModel);
        var path = Write("sentencepiece.bpe.model", bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<TokenizerException>(() => XlmRobertaTokenizer.Load(_dir));
        Assert.Contains(path, e.Message);
        Assert.Contains("SentencePiece ModelProto", e.Message);
    }

    [Fact]
    public void SentencePieceModelCutAnywhere_IsInvalidData()
    {
        var bytes = File.ReadAllBytes(FixtureModel);
        var path = Path.Combine(_dir, "sentencepiece.bpe.model");
        foreach (double fraction in new[] { 0.0001, 0.1, 0.33, 0.5, 0.9, 0.99, 0.9999 })
        {
            File.WriteAllBytes(path, bytes[..(int)(bytes.Length * fraction)]);
            Assert.Contains(path, Assert.Throws<TokenizerException>(() => XlmRobertaTokenizer.FromSentencePieceModel(path)).Message);
        }
    }

    [Fact]
    public void TokenizerJsonWithWrongNestedShape_IsInvalidData()
    {
        var path = WriteJson(n => n["post_processor"]!["single"]![0]!["SpecialToken"] = JsonNode.Parse("""{"type_id": 0}"""));
        var e = Assert.Throws<TokenizerException>(() => XlmRobertaTokenizer.FromTokenizerJson(path));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void TextFileAsSentencePieceModel_IsInvalidData()
    {
        var path = Write("sentencepiece.bpe.model", Encoding.UTF8.GetBytes("This is not a protobuf"));
        Assert.Contains(path, Assert.Throws<TokenizerException>(() => XlmRobertaTokenizer.FromSentencePieceModel(path)).Message);
    }

    [Fact]
    public void BpeSentencePieceModel_IsNotSupported()
    {
        // A ModelProto holding only trainer_spec { model_type: BPE (2) }.
        var path = Write("sentencepiece.bpe.model", [0x12, 0x02, 0x18, 0x02]);
        Assert.Contains("model_type 2", Assert.Throws<TokenizerException>(() => XlmRobertaTokenizer.FromSentencePieceModel(path)).Message);
    }

    [Fact]
    public void InvalidTokenizerConfig_NamesTheFile()
    {
        File.Copy(FixtureModel, Path.Combine(_dir, "sentencepiece.bpe.model"));
        var config = Write("tokenizer_config.json", "{ not json"u8.ToArray());
        Assert.Contains(config, Assert.Throws<TokenizerException>(() => XlmRobertaTokenizer.Load(_dir)).Message);
    }

    [Fact]
    public void ModelMaxLength_ComesFromTokenizerConfig()
    {
        File.Copy(FixtureModel, Path.Combine(_dir, "sentencepiece.bpe.model"));
        Assert.Equal(8192, XlmRobertaTokenizer.Load(_dir).ModelMaxLength);
        Write("tokenizer_config.json", """{"model_max_length": 512}"""u8.ToArray());
        Assert.Equal(512, XlmRobertaTokenizer.Load(_dir).ModelMaxLength);
    }
}
