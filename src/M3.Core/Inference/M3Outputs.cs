namespace M3.Core.Inference;

/// <summary>Which representations to compute.</summary>
[Flags]
public enum M3Outputs
{
    /// <summary>The normalized <c>&lt;s&gt;</c> state: one vector per text, compared by dot product.</summary>
    Dense = 1,
    /// <summary>Lexical weights per token id (relu of the sparse head), compared over shared tokens.</summary>
    Sparse = 2,
    /// <summary>One normalized vector per token (the ColBERT head), compared by late interaction (MaxSim).</summary>
    Colbert = 4,
    /// <summary>Dense, sparse and ColBERT.</summary>
    All = Dense | Sparse | Colbert,
}
