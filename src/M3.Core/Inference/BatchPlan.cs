namespace M3.Core.Inference;

/// <summary>
/// How texts of known token lengths are grouped into padded forward passes: sorted longest first (so an out-of-memory batch
/// shows up at once, as in FlagEmbedding), at most <see cref="M3EncodeOptions.BatchSize"/> texts per batch and, when
/// <see cref="M3EncodeOptions.MaxBatchTokens"/> is set, at most that many padded tokens (batch count × longest length);
/// a text longer than the budget runs alone, and so does every text of <see cref="AloneFromTokens"/> tokens or more; a
/// batch also ends where padding would cost attention more than <see cref="MaxAttentionWaste"/> of its work.
/// Sorting keeps similar lengths together, which is what keeps padding small.
/// </summary>
internal sealed class BatchPlan
{
    private BatchPlan(IReadOnlyList<int[]> batches, long realTokens, long paddedTokens)
    {
        Batches = batches;
        RealTokens = realTokens;
        PaddedTokens = paddedTokens;
    }

    /// <summary>
    /// Texts this long run alone: the projections (already hundreds of rows) gain nothing from more, and a graph that
    /// attends padded rows (a plain export; ours before graph version 9, which attends text by text) would pay quadratic
    /// attention for a neighbour padded to a long text's length.
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

    /// <summary>
    /// Real tokens per forward pass of our encoder (<see cref="Create(IReadOnlyList{int}, M3EncodeOptions)"/>): it runs
    /// packed rows and attends text by text, so padding costs it nothing, but a pass of thousands of rows is slower per
    /// row than several smaller ones (its activations leave the cache between the products and the element-wise ops;
    /// measured in docs/performance.md). The plan a padded graph is given has no such cap.
    /// </summary>
    public const int PassTokens = 512;

    /// <summary>
    /// Plans batches for texts of the given token lengths (specials included); with <paramref name="maxPassTokens"/>, a batch
    /// also ends before its real tokens exceed it (a longer text runs alone).
    /// </summary>
    public static BatchPlan Create(IReadOnlyList<int> lengths, int batchSize, int? maxBatchTokens, int? maxPassTokens = null)
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
            if (maxPassTokens is { } pass) count = WithinPassTokens(lengths, order.AsSpan(start, count), pass);
            count = WithinAttentionWaste(lengths, order.AsSpan(start, count));
            var batch = order.AsSpan(start, count).ToArray();
            batches.Add(batch);
            foreach (var i in batch) real += lengths[i];
            padded += (long)count * longest;
            start += count;
        }
        return new BatchPlan(batches, real, padded);
    }

    /// <summary>
    /// How many of the (longest-first) texts can share a batch before attention's padding costs more than
    /// <see cref="MaxAttentionWaste"/> of the batch's useful work, for a graph that attends padded rows (every text over
    /// the longest one's length): ours runs projections on real tokens only and, since graph version 9, attends text by
    /// text, but the plan is also the one a plain export is given in the benchmark. Per layer a token costs about 6·H·4·H in
    /// projections and 4·H per attended position, so in units of 4·H a text of s tokens in a batch padded to L costs
    /// 6·H·s + L² where s² would do. Without this a 290-token line batched with thirty 15-token ones makes their attention
    /// about 370 times their own (measured: the server's passes ran at 80 % of offline speed).
    /// </summary>
    private static int WithinAttentionWaste(IReadOnlyList<int> lengths, ReadOnlySpan<int> candidates)
    {
        long longest = lengths[candidates[0]];
        double useful = 0, waste = 0;
        for (int i = 0; i < candidates.Length; i++)
        {
            long s = lengths[candidates[i]];
            double u = useful + ProjectionCostPerToken * s + s * s, w = waste + longest * longest - s * s;
            if (i > 0 && w > MaxAttentionWaste * u) return i;
            useful = u;
            waste = w;
        }
        return candidates.Length;
    }

    private static int WithinPassTokens(IReadOnlyList<int> lengths, ReadOnlySpan<int> candidates, int budget)
    {
        long sum = lengths[candidates[0]];
        for (int i = 1; i < candidates.Length; i++)
            if ((sum += lengths[candidates[i]]) > budget) return i;
        return candidates.Length;
    }

    /// <summary>Padding's share of a batch's work that <see cref="Create(IReadOnlyList{int}, int, int?, int?)"/> allows in attention.</summary>
    public const double MaxAttentionWaste = 0.1;

    // 6·H for BGE-M3's H = 1,024 (smaller models only batch a little more finely than they could).
    private const double ProjectionCostPerToken = 6 * 1024;

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

    /// <summary>Plans our encoder's batches as <paramref name="options"/> asks, within <see cref="PassTokens"/> per pass.</summary>
    public static BatchPlan Create(IReadOnlyList<int> lengths, M3EncodeOptions options) =>
        Create(lengths, options.BatchSize, options.MaxBatchTokens, PassTokens);
}
