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
    public void Missing_folder_names_the_folder()
    {
        var missing = Path.Combine(_dir, "nope");
        var e = Assert.Throws<TokenizerException>(() => XlmRobertaTokenizer.Load(missing));
        Assert.Contains(missing, e.Message);
    }

    [Fact]
    public void Folder_without_tokenizer_files_says_what_was_expected()
    {
        var e = Assert.Throws<TokenizerException>(() => XlmRobertaTokenizer.Load(_dir));
        Assert.Contains("tokenizer.json", e.Message);
        Assert.Contains("sentencepiece.bpe.model", e.Message);
    }

    [Fact]
    public void Missing_file_names_the_file()
    {
        var path = Path.Combine(_dir, "tokenizer.json");
        Assert.Contains(path, Assert.Throws<TokenizerException>(() => XlmRobertaTokenizer.FromTokenizerJson(path)).Message);
        var model = Path.Combine(_dir, "sentencepiece.bpe.model");
        Assert.Contains(model, Assert.Throws<TokenizerException>(() => XlmRobertaTokenizer.FromSentencePieceModel(model)).Message);
    }

    [Fact]
    public void Truncated_tokenizer_json_is_invalid_data()
    {
        var bytes = File.ReadAllBytes(FixtureJson);
        var path = Write("tokenizer.json", bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<TokenizerException>(() => XlmRobertaTokenizer.Load(_dir));
        Assert.Contains(path, e.Message);
        Assert.Contains("tokenizer.json", e.Message);
    }

    [Fact]
    public void Bpe_tokenizer_json_is_not_supported()
    {
        var path = WriteJson(n => n["model"] = JsonNode.Parse("""{"type":"BPE","vocab":{"a":0},"merges":[]}"""));
        var e = Assert.Throws<TokenizerException>(() => XlmRobertaTokenizer.FromTokenizerJson(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("'BPE'", e.Message);
        Assert.Contains("Unigram", e.Message);
    }

    [Fact]
    public void Vocab_entry_of_wrong_shape_is_invalid_data()
    {
        var path = WriteJson(n => n["model"]!["vocab"]!.AsArray()[5] = JsonNode.Parse("""["s"]"""));
        var e = Assert.Throws<TokenizerException>(() => XlmRobertaTokenizer.FromTokenizerJson(path));
        Assert.Contains("model.vocab[5]", e.Message);
    }

    [Fact]
    public void Corrupt_chars_map_is_invalid_data()
    {
        var path = WriteJson(n => n["normalizer"]!["normalizers"]![0]!["precompiled_charsmap"] = "/////wAAAAA=");
        var e = Assert.Throws<TokenizerException>(() => XlmRobertaTokenizer.FromTokenizerJson(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("precompiled_charsmap", e.Message);
    }

    [Fact]
    public void Unsupported_pre_tokenizer_is_not_supported()
    {
        var path = WriteJson(n => n["pre_tokenizer"] = JsonNode.Parse("""{"type":"ByteLevel"}"""));
        Assert.Contains("Metaspace", Assert.Throws<TokenizerException>(() => XlmRobertaTokenizer.FromTokenizerJson(path)).Message);
    }

    [Fact]
    public void Truncated_sentence_piece_model_is_invalid_data()
    {
        var bytes = File.ReadAllBytes(FixtureModel);
        var path = Write("sentencepiece.bpe.model", bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<TokenizerException>(() => XlmRobertaTokenizer.Load(_dir));
        Assert.Contains(path, e.Message);
        Assert.Contains("SentencePiece ModelProto", e.Message);
    }

    [Fact]
    public void Sentence_piece_model_cut_anywhere_is_invalid_data()
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
    public void Tokenizer_json_with_wrong_nested_shape_is_invalid_data()
    {
        var path = WriteJson(n => n["post_processor"]!["single"]![0]!["SpecialToken"] = JsonNode.Parse("""{"type_id": 0}"""));
        var e = Assert.Throws<TokenizerException>(() => XlmRobertaTokenizer.FromTokenizerJson(path));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Text_file_as_sentence_piece_model_is_invalid_data()
    {
        var path = Write("sentencepiece.bpe.model", Encoding.UTF8.GetBytes("This is not a protobuf"));
        Assert.Contains(path, Assert.Throws<TokenizerException>(() => XlmRobertaTokenizer.FromSentencePieceModel(path)).Message);
    }

    [Fact]
    public void Bpe_sentence_piece_model_is_not_supported()
    {
        // A ModelProto holding only trainer_spec { model_type: BPE (2) }.
        var path = Write("sentencepiece.bpe.model", [0x12, 0x02, 0x18, 0x02]);
        Assert.Contains("model_type 2", Assert.Throws<TokenizerException>(() => XlmRobertaTokenizer.FromSentencePieceModel(path)).Message);
    }

    [Fact]
    public void Invalid_tokenizer_config_names_the_file()
    {
        File.Copy(FixtureModel, Path.Combine(_dir, "sentencepiece.bpe.model"));
        var config = Write("tokenizer_config.json", "{ not json"u8.ToArray());
        Assert.Contains(config, Assert.Throws<TokenizerException>(() => XlmRobertaTokenizer.Load(_dir)).Message);
    }

    [Fact]
    public void Model_max_length_comes_from_tokenizer_config()
    {
        File.Copy(FixtureModel, Path.Combine(_dir, "sentencepiece.bpe.model"));
        Assert.Equal(8192, XlmRobertaTokenizer.Load(_dir).ModelMaxLength);
        Write("tokenizer_config.json", """{"model_max_length": 512}"""u8.ToArray());
        Assert.Equal(512, XlmRobertaTokenizer.Load(_dir).ModelMaxLength);
    }
}
