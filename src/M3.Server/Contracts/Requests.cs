using System.Text.Json.Serialization;

namespace M3.Server.Contracts;

/// <summary>OpenAI's embeddings request; fields it has that BGE-M3 ignores (e.g. <c>user</c>) are accepted and ignored.</summary>
internal sealed class EmbeddingsRequest
{
    /// <summary>A string or an array of strings (token arrays are not accepted).</summary>
    [JsonConverter(typeof(TextsConverter))]
    public IReadOnlyList<string>? Input { get; init; }

    /// <summary>Echoed back; the server serves one model.</summary>
    public string? Model { get; init; }

    /// <summary><c>float</c> (default) or <c>base64</c> (little-endian float32).</summary>
    [JsonPropertyName("encoding_format")]
    public string? EncodingFormat { get; init; }

    /// <summary>Only the model's hidden size is accepted.</summary>
    public int? Dimensions { get; init; }
}

/// <summary>/embed: any of the three representations, in the shape of <c>m3 encode</c>'s lines.</summary>
internal sealed class EmbedRequest
{
    [JsonConverter(typeof(TextsConverter))]
    public IReadOnlyList<string>? Inputs { get; init; }
    public bool? Dense { get; init; }
    public bool? Sparse { get; init; }
    public bool? Colbert { get; init; }
    public bool? Mcls { get; init; }
    /// <summary>Adds <c>sparse_tokens</c> (id → token) to each item.</summary>
    [JsonPropertyName("return_tokens")]
    public bool? ReturnTokens { get; init; }
}

internal sealed class ScorePair
{
    public string? Query { get; init; }
    public string? Passage { get; init; }
}

/// <summary>/score: FlagEmbedding's five scores per query–passage pair.</summary>
internal sealed class ScoreRequest
{
    public ScorePair[]? Pairs { get; init; }
    /// <summary>Dense, sparse and ColBERT weights of the combined scores (default 0.4, 0.2, 0.4).</summary>
    public float[]? Weights { get; init; }
}

internal sealed class TokenizeRequest
{
    [JsonConverter(typeof(TextsConverter))]
    public IReadOnlyList<string>? Inputs { get; init; }
}

/// <summary>/search over the index given with --index.</summary>
internal sealed class SearchRequest
{
    public string? Query { get; init; }
    /// <summary>dense, sparse, colbert, hybrid (default) or rrf.</summary>
    public string? Mode { get; init; }
    [JsonPropertyName("top_k")]
    public int? TopK { get; init; }
    public float[]? Weights { get; init; }
    public bool? Exact { get; init; }
}
