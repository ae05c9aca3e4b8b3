namespace M3.Core.Scoring;

/// <summary>Weights of FlagEmbedding's score combinations (dense, sparse, ColBERT); defaults 0.4, 0.2, 0.4.</summary>
public sealed record HybridWeights(float Dense = 0.4f, float Sparse = 0.2f, float Colbert = 0.4f)
{
    /// <summary>FlagEmbedding's weights: dense 0.4, sparse 0.2, ColBERT 0.4.</summary>
    public static HybridWeights Default { get; } = new();

    /// <summary>Parses "0.4,0.2,0.4" (three non-negative numbers, not all zero).</summary>
    public static HybridWeights Parse(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length != 3)
            throw new FormatException($"weights must be three comma-separated numbers (dense,sparse,colbert), got '{text}'");
        var w = new float[3];
        for (int i = 0; i < 3; i++)
        {
            if (!float.TryParse(parts[i], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out w[i]) || w[i] < 0 || !float.IsFinite(w[i]))
                throw new FormatException($"weight '{parts[i]}' in '{text}' is not a non-negative number");
        }
        if (w[0] + w[1] + w[2] <= 0) throw new FormatException($"weights '{text}' must not all be zero");
        return new HybridWeights(w[0], w[1], w[2]);
    }
}
