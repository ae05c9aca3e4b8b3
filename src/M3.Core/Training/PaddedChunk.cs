namespace M3.Core.Training;

/// <summary>
/// Texts padded to a [count, seq] batch as the training graphs take it: token ids (pad id at padding), XLM-R position ids
/// (pad id + 1 + index for tokens, the pad id at padding) and the additive attention mask over keys (0 or −1e9).
/// </summary>
internal sealed class PaddedChunk
{
    public PaddedChunk(IReadOnlyList<int[]> texts, int padId, int maxPositions)
    {
        Texts = texts;
        Seq = texts.Max(t => t.Length);
        if (padId + Seq >= maxPositions)
            throw new ArgumentException($"a text of {Seq} tokens needs position {padId + Seq}, but the model has {maxPositions} positions; truncate texts to at most {maxPositions - padId - 1} tokens");
        Ids = new long[texts.Count * Seq];
        Positions = new long[Ids.Length];
        Bias = new float[Ids.Length];
        for (int r = 0; r < texts.Count; r++)
            for (int t = 0; t < Seq; t++)
            {
                int i = r * Seq + t;
                bool real = t < texts[r].Length;
                Ids[i] = real ? texts[r][t] : padId;
                Positions[i] = real ? padId + 1 + t : padId;
                Bias[i] = real ? 0 : TrainingGraph.MaskedScore;
            }
    }

    public IReadOnlyList<int[]> Texts { get; }
    public int Count => Texts.Count;
    public int Seq { get; }
    public long[] Ids { get; }
    public long[] Positions { get; }
    public float[] Bias { get; }
}
