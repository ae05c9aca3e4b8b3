namespace M3.Core.Representations;

/// <summary>The representations of one text; each is null when it was not requested.</summary>
/// <param name="Dense">Normalized hidden state of <c>&lt;s&gt;</c> (or the MCLS mean when MCLS was requested).</param>
/// <param name="Sparse">Lexical weights keyed by token id.</param>
/// <param name="Colbert">Normalized ColBERT vectors, one per token after <c>&lt;s&gt;</c>.</param>
/// <param name="TokenCount">Number of tokens fed to the model, <c>&lt;s&gt;</c> and <c>&lt;/s&gt;</c> included.</param>
public sealed record M3Embedding(float[]? Dense, SparseVector? Sparse, MultiVector? Colbert, int TokenCount);
