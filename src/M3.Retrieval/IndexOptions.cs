namespace M3.Retrieval;

/// <summary>Options fixed when an index is created (recorded in its manifest).</summary>
public sealed record IndexOptions
{
    /// <summary>Store ColBERT vectors as float16: half the size, scores change in the 4th digit. Default float32 (exact).</summary>
    public bool ColbertFloat16 { get; init; }

    /// <summary>Split documents longer than this many content tokens into overlapping passages; null = encode whole documents (up to the encoder's max length).</summary>
    public int? PassageTokens { get; init; }

    /// <summary>Tokens shared by consecutive passages.</summary>
    public int PassageOverlap { get; init; } = 32;
}
