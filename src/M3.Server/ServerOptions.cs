using M3.Core.Inference;
using M3.Tokenization;
using Microsoft.Extensions.Logging;

namespace M3.Server;

/// <summary>Everything <c>m3 serve</c> is configured with; limits protect the server from oversized or too many requests.</summary>
public sealed record ServerOptions
{
    /// <summary>The checkpoint folder to serve (BAAI/bge-m3's layout); must exist.</summary>
    public required string ModelDirectory { get; init; }
    /// <summary>Model id reported by /v1/embeddings (default: the model folder's name).</summary>
    public string? ModelId { get; init; }
    /// <summary>An index folder (<c>m3 index</c>) that /search queries, or null for none (/search then answers 404).</summary>
    public string? IndexDirectory { get; init; }
    /// <summary>Addresses the standalone <see cref="M3Server"/> listens on, separated by <c>;</c> (port 0: any free port).
    /// Not used by <see cref="M3ServiceCollectionExtensions.AddM3"/>: there the host app decides.</summary>
    public string Urls { get; init; } = "http://127.0.0.1:8080";
    /// <summary>When set, every endpoint but /health requires <c>Authorization: Bearer</c> with this key (401 otherwise).</summary>
    public string? ApiKey { get; init; }
    /// <summary>How the encoder is loaded (precision, threads, graph cache).</summary>
    public M3LoadOptions Encoder { get; init; } = M3LoadOptions.Default;

    /// <summary>Texts (or pairs) one request may carry; beyond it 413.</summary>
    public int MaxInputsPerRequest { get; init; } = 256;
    /// <summary>UTF-16 characters one input may have; beyond it 413, before tokenizing.</summary>
    public int MaxCharactersPerInput { get; init; } = 200_000;
    /// <summary>Inputs longer than this many tokens are truncated (<see cref="TruncateLongInputs"/>) or rejected with 413.</summary>
    public int MaxTokensPerInput { get; init; } = XlmRobertaTokenizer.DefaultMaxLength;
    /// <summary>Whether inputs above <see cref="MaxTokensPerInput"/> are truncated (the default) or rejected with 413.</summary>
    public bool TruncateLongInputs { get; init; } = true;
    /// <summary>
    /// Tokens one request may have encoded, all inputs together (after truncation); beyond it 413. Bounds how long one
    /// request holds the encoder: eight inputs of the model's maximum length by default.
    /// </summary>
    public int MaxTokensPerRequest { get; init; } = 65_536;
    /// <summary>Bytes a request body may have; beyond it 413, before parsing.</summary>
    public long MaxRequestBodyBytes { get; init; } = 16 * 1024 * 1024;
    /// <summary>Texts waiting to be encoded; beyond it requests get 429 with Retry-After.</summary>
    public int QueueCapacity { get; init; } = 4096;
    /// <summary>Padded tokens per forward pass for the batches the scheduler forms.</summary>
    public int MaxBatchTokens { get; init; } = M3EncodeOptions.DefaultMaxBatchTokens;
    /// <summary>Texts per forward pass.</summary>
    public int MaxBatchSize { get; init; } = 64;
    /// <summary>Least severe log level written (console, stderr) by <see cref="M3Server"/>; errors (5xx) are logged with their exception.</summary>
    public LogLevel LogLevel { get; init; } = LogLevel.Warning;
}
