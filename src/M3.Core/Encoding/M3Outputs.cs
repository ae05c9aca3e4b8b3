namespace M3.Core.Encoding;

/// <summary>Which representations to compute.</summary>
[Flags]
public enum M3Outputs
{
    Dense = 1,
    Sparse = 2,
    Colbert = 4,
    All = Dense | Sparse | Colbert,
}
