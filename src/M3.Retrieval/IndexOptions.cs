namespace M3.Retrieval;

/// <summary>How ColBERT vectors are stored (fixed when an index is created).</summary>
public enum ColbertPrecision
{
    /// <summary>As encoded: ColBERT scores equal the reference exactly.</summary>
    Float32,
    /// <summary>Half the size; scores change in the 4th digit.</summary>
    Float16,
    /// <summary>One signed byte per value plus a float32 scale per vector (about a quarter of float32).</summary>
    Int8,
    /// <summary>No ColBERT vectors: colbert mode is unavailable, hybrid combines dense and sparse.</summary>
    None,
}

/// <summary>Options fixed when an index is created (recorded in its manifest).</summary>
public sealed record IndexOptions
{
    /// <summary>How ColBERT vectors are stored, or <see cref="ColbertPrecision.None"/> for none.</summary>
    public ColbertPrecision Colbert { get; init; } = ColbertPrecision.Float32;

    /// <summary>Split documents longer than this many content tokens into overlapping passages; null = encode whole documents (up to the encoder's max length).</summary>
    public int? PassageTokens { get; init; }

    /// <summary>Tokens shared by consecutive passages.</summary>
    public int PassageOverlap { get; init; } = 32;

    /// <summary>Checks that the passage window and overlap can split a text (done before an index is created).</summary>
    /// <exception cref="ArgumentException"><see cref="PassageTokens"/> is below 1, or <see cref="PassageOverlap"/> negative or not below it.</exception>
    public void Validate()
    {
        if (PassageTokens is { } w && (w < 1 || PassageOverlap < 0 || PassageOverlap >= w))
            throw new ArgumentException($"passage window {w} and overlap {PassageOverlap}: need window ≥ 1 and 0 ≤ overlap < window");
        if (PassageTokens is null && PassageOverlap < 0)
            throw new ArgumentException($"passage overlap {PassageOverlap} must not be negative");
    }
}
