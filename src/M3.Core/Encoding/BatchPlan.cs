namespace M3.Core.Encoding;

/// <summary>
/// How texts of known token lengths are grouped into padded forward passes: sorted longest first (so an out-of-memory batch
/// shows up at once, as in FlagEmbedding), at most <see cref="M3EncodeOptions.BatchSize"/> texts per batch and, when
/// <see cref="M3EncodeOptions.MaxBatchTokens"/> is set, at most that many padded tokens (batch count × longest length);
/// a text longer than the budget runs alone, and so does every text of <see cref="AloneFromTokens"/> tokens or more.
/// Sorting keeps similar lengths together, which is what keeps padding small.
/// </summary>
public sealed class BatchPlan
{
    private BatchPlan(IReadOnlyList<int[]> batches, long realTokens, long paddedTokens)
    {
        Batches = batches;
        RealTokens = realTokens;
        PaddedTokens = paddedTokens;
    }

    /// <summary>
    /// Texts this long run alone: padding a neighbour to a long text's length costs quadratic attention while the
    /// projections (already hundreds of rows) gain nothing from more, and an unpadded batch takes the flash-attention
    /// kernel (10–20 % faster than the masked one from 1,000 tokens on).
    /// </summary>
    public const int AloneFromTokens = 512;

    /// <summary>Each batch's text indices (into the planned lengths), longest first.</summary>
    public IReadOnlyList<int[]> Batches { get; }

    /// <summary>Sum of the texts' token counts.</summary>
    public long RealTokens { get; }

    /// <summary>Tokens the encoder actually runs: per batch, count × longest length.</summary>
    public long PaddedTokens { get; }

    /// <summary>Padded tokens per real token, minus one: 0 means no padding at all.</summary>
    public double PaddingWaste => RealTokens == 0 ? 0 : (double)PaddedTokens / RealTokens - 1;

    /// <summary>Plans batches for texts of the given token lengths (specials included).</summary>
    public static BatchPlan Create(IReadOnlyList<int> lengths, int batchSize, int? maxBatchTokens)
    {
        ArgumentNullException.ThrowIfNull(lengths);
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batch size must be at least 1");
        if (maxBatchTokens is < 1) throw new ArgumentOutOfRangeException(nameof(maxBatchTokens), maxBatchTokens, "the token budget must be at least 1");

        var order = Enumerable.Range(0, lengths.Count).ToArray();
        // Stable: equal lengths keep input order, so a plan is reproducible.
        Array.Sort(order, (a, b) => lengths[b] != lengths[a] ? lengths[b].CompareTo(lengths[a]) : a.CompareTo(b));

        var batches = new List<int[]>();
        long real = 0, padded = 0;
        var start = 0;
        while (start < order.Length)
        {
            var longest = lengths[order[start]]; // sorted: the first text of a batch is its longest
            var count = Math.Min(batchSize, order.Length - start);
            if (maxBatchTokens is { } budget) count = Math.Clamp(budget / Math.Max(longest, 1), 1, count);
            if (longest >= AloneFromTokens) count = 1;
            var batch = order.AsSpan(start, count).ToArray();
            batches.Add(batch);
            foreach (var i in batch) real += lengths[i];
            padded += (long)count * longest;
            start += count;
        }
        return new BatchPlan(batches, real, padded);
    }

    /// <summary>
    /// The model inputs of one batch: input ids padded with <paramref name="padId"/> to the longest sequence and the
    /// attention mask (1 for tokens, 0 for padding), both row-major [batch, length] as ONNX Runtime takes int64 tensors.
    /// </summary>
    public static (long[] Ids, long[] Mask, int Length) Pad(IReadOnlyList<int[]> sequences, ReadOnlySpan<int> batch, int padId)
    {
        var t = 0;
        foreach (var i in batch) t = Math.Max(t, sequences[i].Length);
        var ids = new long[batch.Length * t];
        var mask = new long[batch.Length * t];
        Array.Fill(ids, padId);
        for (var r = 0; r < batch.Length; r++)
        {
            var s = sequences[batch[r]];
            for (var p = 0; p < s.Length; p++)
            {
                ids[r * t + p] = s[p];
                mask[r * t + p] = 1;
            }
        }
        return (ids, mask, t);
    }

    /// <summary>Plans batches as <paramref name="options"/> asks.</summary>
    public static BatchPlan Create(IReadOnlyList<int> lengths, M3EncodeOptions options) =>
        Create(lengths, options.BatchSize, options.MaxBatchTokens);
}
