namespace M3.Core.Training.Data;

/// <summary>
/// Picks a group of passages per example as FlagEmbedding's <c>AbsEmbedderTrainDataset.__getitem__</c> does: a random
/// positive, and G−1 negatives drawn without replacement from the negatives (from the negatives repeated
/// ⌈(G−1)/n⌉ times when there are fewer than G−1), in the random order of the draw.
/// </summary>
internal static class GroupSampler
{
    /// <summary>Samples with <paramref name="random"/>; null means no sampling: <c>pos[0]</c> and the negatives in listed order, cycled.</summary>
    public static SampledGroup Sample(TrainingExample example, int index, int groupSize, Random? random)
    {
        int want = groupSize - 1, n = example.Negatives.Count;
        var negatives = new int[want];
        if (random == null)
        {
            for (var i = 0; i < want; i++) negatives[i] = i % n;
            return new SampledGroup(index, 0, negatives);
        }
        var positive = random.Next(example.Positives.Count);
        var repeats = n < want ? (want + n - 1) / n : 1;
        var pool = new int[n * repeats];
        for (var i = 0; i < pool.Length; i++) pool[i] = i % n;
        // Partial Fisher–Yates: the first `want` slots are a uniform draw without replacement, in draw order.
        for (var i = 0; i < want; i++)
        {
            var j = random.Next(i, pool.Length);
            (pool[i], pool[j]) = (pool[j], pool[i]);
            negatives[i] = pool[i];
        }
        return new SampledGroup(index, positive, negatives);
    }
}
