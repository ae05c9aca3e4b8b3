using M3.Core.Checkpoint;

namespace M3.Bench.Encoder;

/// <summary>
/// Floating-point operations (multiply and add counted as two) the BGE-M3 forward pass needs for one text, from the
/// architecture: per layer the Q/K/V/output projections (8·H²) and the feed-forward pair (4·H·I) per token, plus attention's
/// scores and weighted sum (4·T·H per token, T the text's own length), plus the ColBERT (2·H²) and sparse (2·H) heads.
/// Only the text's real tokens count: padding is work the engine chose to do, not work the model needs.
/// </summary>
internal static class ModelFlops
{
    public static double ForText(M3Config c, int tokens)
    {
        double h = c.HiddenSize, i = c.IntermediateSize, t = tokens;
        var perTokenDense = c.NumHiddenLayers * (8 * h * h + 4 * h * i) + 2 * h * h + 2 * h;
        var attention = c.NumHiddenLayers * 4 * t * h;
        return t * (perTokenDense + attention);
    }

    public static double ForTexts(M3Config c, IEnumerable<int> lengths) => lengths.Sum(n => ForText(c, n));
}
