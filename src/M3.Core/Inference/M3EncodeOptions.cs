using M3.Tokenization;

namespace M3.Core.Inference;

/// <summary>Per-call options of <see cref="M3Encoder.Encode"/>.</summary>
public sealed record M3EncodeOptions
{
    /// <summary>All outputs, BGE-M3's maximum length, batches of 16 texts and at most <see cref="DefaultMaxBatchTokens"/> padded tokens.</summary>
    public static M3EncodeOptions Default { get; } = new();

    /// <summary>The default <see cref="MaxBatchTokens"/>: one BGE-M3 text of the longest length fits, and runs alone.</summary>
    public const int DefaultMaxBatchTokens = XlmRobertaTokenizer.DefaultMaxLength;

    /// <summary>The representations to compute; the others are null in the results.</summary>
    public M3Outputs Outputs { get; init; } = M3Outputs.All;

    /// <summary>Maximum tokens per text, <c>&lt;s&gt;</c> and <c>&lt;/s&gt;</c> included; longer texts keep their first MaxLength−2 content tokens.</summary>
    public int MaxLength { get; init; } = XlmRobertaTokenizer.DefaultMaxLength;

    /// <summary>Maximum number of texts per forward pass.</summary>
    public int BatchSize { get; init; } = 16;

    /// <summary>
    /// Batches are also limited to this many padded tokens (batch count × longest length); a longer text runs alone.
    /// Bounds memory: attention holds batch × heads × length² scores, so 8,192 keeps one 8,192-token text alone.
    /// Null: BatchSize alone decides.
    /// </summary>
    public int? MaxBatchTokens { get; init; } = DefaultMaxBatchTokens;

    /// <summary>MCLS for long inputs (dense only): an extra <c>&lt;s&gt;</c> before every <see cref="MclsInterval"/>-th content token, dense = normalized mean of their states.</summary>
    public bool Mcls { get; init; }

    /// <summary>Content tokens between two extra <c>&lt;s&gt;</c> with <see cref="Mcls"/>.</summary>
    public int MclsInterval { get; init; } = 256;
}
