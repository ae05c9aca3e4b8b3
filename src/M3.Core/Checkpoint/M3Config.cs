using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace M3.Core.Checkpoint;

/// <summary>The XLM-RoBERTa hyper-parameters of a BGE-M3 checkpoint, from its Hugging Face <c>config.json</c>.</summary>
internal sealed record M3Config(
    int HiddenSize,
    int NumHiddenLayers,
    int NumAttentionHeads,
    int IntermediateSize,
    int MaxPositionEmbeddings,
    double LayerNormEps,
    int PadTokenId,
    int VocabSize,
    int TypeVocabSize,
    string HiddenAct)
{
    public const string FileName = "config.json";

    /// <summary>Width of one attention head.</summary>
    public int HeadSize => HiddenSize / NumAttentionHeads;

    /// <summary>Loads and validates <c>config.json</c> from a checkpoint folder.</summary>
    public static M3Config Load(string directory) => LoadFile(Path.Combine(directory, FileName));

    /// <summary>Loads and validates a Hugging Face config file.</summary>
    public static M3Config LoadFile(string path)
    {
        if (!File.Exists(path))
            throw new CheckpointException(path, null, "file not found: a checkpoint folder needs the model's config.json");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            throw new CheckpointException(path, null, "not valid JSON: " + e.Message, e);
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new CheckpointException(path, null, "must be a JSON object");
            if (root.TryGetProperty("position_embedding_type", out var pet) && pet.ValueKind == JsonValueKind.String && pet.GetString() != "absolute")
                throw new CheckpointException(path, null, $"field 'position_embedding_type' is '{pet.GetString()}'; only 'absolute' (XLM-RoBERTa) is supported");
            var config = new M3Config(
                Int(path, root, "hidden_size"),
                Int(path, root, "num_hidden_layers"),
                Int(path, root, "num_attention_heads"),
                Int(path, root, "intermediate_size"),
                Int(path, root, "max_position_embeddings"),
                Number(path, root, "layer_norm_eps"),
                Int(path, root, "pad_token_id"),
                Int(path, root, "vocab_size"),
                Int(path, root, "type_vocab_size"),
                Text(path, root, "hidden_act"));
            config.Validate(path);
            return config;
        }
    }

    /// <summary>Writes a Hugging Face <c>config.json</c> (an <c>XLMRobertaModel</c>, as BAAI/bge-m3 ships) that <see cref="LoadFile"/> reads back.</summary>
    public void WriteFile(string path)
    {
        Validate(path);
        var json = new JsonObject
        {
            ["architectures"] = new JsonArray("XLMRobertaModel"),
            ["model_type"] = "xlm-roberta",
            ["hidden_size"] = HiddenSize,
            ["num_hidden_layers"] = NumHiddenLayers,
            ["num_attention_heads"] = NumAttentionHeads,
            ["intermediate_size"] = IntermediateSize,
            ["max_position_embeddings"] = MaxPositionEmbeddings,
            ["layer_norm_eps"] = LayerNormEps,
            ["pad_token_id"] = PadTokenId,
            ["bos_token_id"] = 0,
            ["eos_token_id"] = 2,
            ["vocab_size"] = VocabSize,
            ["type_vocab_size"] = TypeVocabSize,
            ["hidden_act"] = HiddenAct,
            ["position_embedding_type"] = "absolute",
            ["torch_dtype"] = "float32",
        };
        CheckpointWriting.WriteAtomically(path, s => s.Write(Encoding.UTF8.GetBytes(json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }))));
    }

    /// <summary>Checks the values describe a model this library can build; <paramref name="source"/> names the file in errors.</summary>
    public void Validate(string source)
    {
        Positive(source, "hidden_size", HiddenSize);
        Positive(source, "num_hidden_layers", NumHiddenLayers);
        Positive(source, "num_attention_heads", NumAttentionHeads);
        Positive(source, "intermediate_size", IntermediateSize);
        Positive(source, "max_position_embeddings", MaxPositionEmbeddings);
        Positive(source, "vocab_size", VocabSize);
        Positive(source, "type_vocab_size", TypeVocabSize);
        if (HiddenSize % NumAttentionHeads != 0)
            throw Field(source, "hidden_size", $"{HiddenSize} is not divisible by num_attention_heads {NumAttentionHeads}");
        if (!(LayerNormEps > 0) || double.IsInfinity(LayerNormEps))
            throw Field(source, "layer_norm_eps", $"{LayerNormEps} must be a positive number");
        if (PadTokenId < 0 || PadTokenId >= VocabSize)
            throw Field(source, "pad_token_id", $"{PadTokenId} must be a token id below vocab_size {VocabSize}");
        // RoBERTa positions start after the pad id, so at least one position must exist past it.
        if (MaxPositionEmbeddings <= PadTokenId + 1)
            throw Field(source, "max_position_embeddings", $"{MaxPositionEmbeddings} leaves no positions after pad_token_id {PadTokenId} + 1");
        if (HiddenAct != "gelu")
            throw Field(source, "hidden_act", $"'{HiddenAct}' is not supported; BGE-M3 uses 'gelu' (exact erf form)");
    }

    private static void Positive(string source, string field, int value)
    {
        if (value <= 0) throw Field(source, field, $"{value} must be positive");
    }

    private static CheckpointException Field(string source, string field, string problem) =>
        new(source, null, $"field '{field}': {problem}");

    private static JsonElement Required(string path, JsonElement root, string field) =>
        root.TryGetProperty(field, out var value) && value.ValueKind != JsonValueKind.Null
            ? value
            : throw Field(path, field, "missing");

    private static int Int(string path, JsonElement root, string field)
    {
        var value = Required(path, root, field);
        return value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var n)
            ? n
            : throw Field(path, field, $"{value.GetRawText()} is not an integer");
    }

    private static double Number(string path, JsonElement root, string field)
    {
        var value = Required(path, root, field);
        return value.ValueKind == JsonValueKind.Number
            ? value.GetDouble()
            : throw Field(path, field, $"{value.GetRawText()} is not a number");
    }

    private static string Text(string path, JsonElement root, string field)
    {
        var value = Required(path, root, field);
        return value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw Field(path, field, $"{value.GetRawText()} is not a string");
    }
}
