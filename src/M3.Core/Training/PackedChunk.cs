namespace M3.Core.Training;

/// <summary>
/// Texts as the training graphs take them: packed token rows (text after text, no padding) for everything but attention,
/// and the maps between those rows and the padded [count, seq] layout attention runs on. Token ids, XLM-R position ids
/// (pad id + 1 + index) and the additive attention mask over padded keys (0 or −1e9).
/// </summary>
internal sealed class PackedChunk
{
    /// <param name="first">The index of the chunk's first text in its batch.</param>
    public PackedChunk(IReadOnlyList<int[]> texts, int first, int padId, int maxPositions)
    {
        Texts = texts;
        First = first;
        Seq = texts.Max(t => t.Length);
        if (padId + Seq >= maxPositions)
            throw new ArgumentException($"a text of {Seq} tokens needs position {padId + Seq}, but the model has {maxPositions} positions; truncate texts to at most {maxPositions - padId - 1} tokens");
        Offsets = new int[texts.Count];
        for (int r = 1; r < texts.Count; r++) Offsets[r] = Offsets[r - 1] + texts[r - 1].Length;
        Tokens = Offsets[^1] + texts[^1].Length;
        Ids = new long[Tokens];
        Positions = new long[Tokens];
        PackIndex = new long[Tokens];
        FirstInverse = new long[Tokens];
        Array.Fill(FirstInverse, texts.Count);
        FirstIndex = new long[texts.Count];
        PadIndex = new long[texts.Count * Seq];
        Bias = new float[PadIndex.Length];
        for (int r = 0; r < texts.Count; r++)
        {
            FirstIndex[r] = Offsets[r];
            FirstInverse[Offsets[r]] = r;
            for (int t = 0; t < Seq; t++)
            {
                int slot = r * Seq + t;
                bool real = t < texts[r].Length;
                PadIndex[slot] = real ? Offsets[r] + t : Tokens;
                Bias[slot] = real ? 0 : TrainingGraph.MaskedScore;
                if (!real) continue;
                int row = Offsets[r] + t;
                Ids[row] = texts[r][t];
                Positions[row] = padId + 1 + t;
                PackIndex[row] = slot;
            }
        }
    }

    public IReadOnlyList<int[]> Texts { get; }
    public int First { get; }
    public int Count => Texts.Count;

    /// <summary>The longest text's length: the padded layout's width.</summary>
    public int Seq { get; }

    /// <summary>Real tokens, the packed rows.</summary>
    public int Tokens { get; }

    /// <summary>Each text's first packed row.</summary>
    public int[] Offsets { get; }

    public long[] Ids { get; }
    public long[] Positions { get; }

    /// <summary>For each padded slot (r·Seq + t), its packed row, or <see cref="Tokens"/> (a zero row) at padding.</summary>
    public long[] PadIndex { get; }

    /// <summary>For each packed row, its padded slot.</summary>
    public long[] PackIndex { get; }

    /// <summary>Each text's &lt;s&gt; row (the dense representation's).</summary>
    public long[] FirstIndex { get; }

    /// <summary>For each packed row, the text whose &lt;s&gt; it is, or <see cref="Count"/> (a zero row) for the others.</summary>
    public long[] FirstInverse { get; }

    /// <summary>Additive attention mask over the padded keys, [Count·Seq].</summary>
    public float[] Bias { get; }
}
