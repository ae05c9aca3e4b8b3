using System.Text.Json.Nodes;
using M3.Core.Checkpoint;
using M3.Tests;

namespace M3.Core.Tests.Checkpoint;

public sealed class M3ConfigTests
{
    [Fact]
    public void Fixture_config_matches_its_json()
    {
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(TestPaths.TinyM3, M3Config.FileName)))!;
        var c = M3Config.Load(TestPaths.TinyM3);
        Assert.Equal((int)json["hidden_size"]!, c.HiddenSize);
        Assert.Equal((int)json["num_hidden_layers"]!, c.NumHiddenLayers);
        Assert.Equal((int)json["num_attention_heads"]!, c.NumAttentionHeads);
        Assert.Equal((int)json["intermediate_size"]!, c.IntermediateSize);
        Assert.Equal((int)json["max_position_embeddings"]!, c.MaxPositionEmbeddings);
        Assert.Equal((double)json["layer_norm_eps"]!, c.LayerNormEps);
        Assert.Equal((int)json["pad_token_id"]!, c.PadTokenId);
        Assert.Equal((int)json["vocab_size"]!, c.VocabSize);
        Assert.Equal((int)json["type_vocab_size"]!, c.TypeVocabSize);
        Assert.Equal("gelu", c.HiddenAct);
        Assert.Equal(c.HiddenSize / c.NumAttentionHeads, c.HeadSize);
    }

    [Theory]
    [InlineData("num_attention_heads", "5", "hidden_size", "not divisible")]
    [InlineData("hidden_act", "\"relu\"", "hidden_act", "'relu' is not supported")]
    [InlineData("intermediate_size", "0", "intermediate_size", "must be positive")]
    [InlineData("hidden_size", "\"32\"", "hidden_size", "is not an integer")]
    [InlineData("layer_norm_eps", "-1", "layer_norm_eps", "positive")]
    [InlineData("pad_token_id", "999999", "pad_token_id", "below vocab_size")]
    [InlineData("position_embedding_type", "\"relative_key\"", "position_embedding_type", "only 'absolute'")]
    public void Invalid_field_names_config_json_and_the_field(string field, string value, string named, string expected)
    {
        var e = Assert.Throws<CheckpointException>(() => LoadEdited(json => json[field] = JsonNode.Parse(value)));
        Assert.EndsWith(M3Config.FileName, e.FilePath);
        Assert.Contains($"'{named}'", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Missing_field_is_named()
    {
        var e = Assert.Throws<CheckpointException>(() => LoadEdited(json => json.Remove("vocab_size")));
        Assert.Contains("'vocab_size': missing", e.Message);
    }

    [Fact]
    public void Malformed_json_is_a_clear_error()
    {
        var dir = TestPaths.NewTempDir();
        try
        {
            File.WriteAllText(Path.Combine(dir, M3Config.FileName), "{ \"hidden_size\": ");
            var e = Assert.Throws<CheckpointException>(() => M3Config.Load(dir));
            Assert.Contains("not valid JSON", e.Message);
            Assert.Contains(M3Config.FileName, e.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Missing_config_is_a_clear_error()
    {
        var dir = TestPaths.NewTempDir();
        try
        {
            var e = Assert.Throws<CheckpointException>(() => M3Config.Load(dir));
            Assert.Contains("file not found", e.Message);
            Assert.EndsWith(M3Config.FileName, e.FilePath);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static M3Config LoadEdited(Action<JsonObject> edit)
    {
        var dir = TestPaths.NewTempDir();
        try
        {
            var json = JsonNode.Parse(File.ReadAllText(Path.Combine(TestPaths.TinyM3, M3Config.FileName)))!.AsObject();
            edit(json);
            File.WriteAllText(Path.Combine(dir, M3Config.FileName), json.ToJsonString());
            return M3Config.Load(dir);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
