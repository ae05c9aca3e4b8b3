namespace M3.Core.Encoding;

/// <summary>
/// Groups sequences into forward passes: longest first (as FlagEmbedding sorts), so each batch holds similar
/// lengths and padding stays small; at most BatchSize texts and, when set, MaxBatchTokens padded tokens per batch.
/// </summary>
internal static class Batching
{
    public static List<int[]> Plan(IReadOnlyList<int[]> sequences, int batchSize, int? maxBatchTokens)
    {
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batch size must be at least 1");
        if (maxBatchTokens is < 1) throw new ArgumentOutOfRangeException(nameof(maxBatchTokens), maxBatchTokens, "token budget must be at least 1");
        var order = Enumerable.Range(0, sequences.Count).OrderByDescending(i => sequences[i].Length).ThenBy(i => i).ToArray();
        var batches = new List<int[]>();
        int start = 0;
        while (start < order.Length)
        {
            int longest = sequences[order[start]].Length;
            int end = start + 1;
            // Sorted longest first, so the first member's length is the batch's padded length.
            while (end < order.Length && end - start < batchSize && (maxBatchTokens is not { } budget || (end - start + 1) * longest <= budget))
                end++;
            batches.Add(order[start..end]);
            start = end;
        }
        return batches;
    }
}
