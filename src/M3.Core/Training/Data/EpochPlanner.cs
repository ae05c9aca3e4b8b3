namespace M3.Core.Training.Data;

/// <summary>
/// Orders one epoch's examples into batches of <c>batchSize</c> queries. Shuffled epochs group examples of similar
/// length (the paper's efficient batching, as transformers' <c>LengthGroupedSampler</c>): a random permutation is cut
/// into mega-batches of 50 batches, each sorted by its groups' longest passage (then query), in tokens, and cut into
/// batches, and the batches are shuffled. Without shuffling, examples stay in file order. An epoch's plan depends only
/// on the seed and the epoch number, so a resumed run recomputes exactly the batches an uninterrupted one would have seen.
/// </summary>
/// <param name="length">A text's length in the units the collator pads (tokens); null: characters.</param>
internal sealed class EpochPlanner(IReadOnlyList<TrainingExample> examples, int batchSize, int groupSize, bool shuffle, int seed,
    Func<string, int>? length = null)
{
    private readonly Func<string, int> _length = length ?? (text => text.Length);

    private const int MegaBatchFactor = 50;

    /// <summary>The last batch of an epoch may be smaller (transformers' default <c>dataloader_drop_last=False</c>).</summary>
    public int BatchesPerEpoch => (examples.Count + batchSize - 1) / batchSize;

    public IReadOnlyList<SampledGroup[]> Plan(int epoch)
    {
        var random = shuffle ? new Random(unchecked(seed * 1_000_003 + epoch)) : null;
        var groups = new SampledGroup[examples.Count];
        for (var i = 0; i < groups.Length; i++) groups[i] = GroupSampler.Sample(examples[i], i, groupSize, random);
        if (random == null) return Cut(groups);

        random.Shuffle(groups);
        var mega = batchSize * MegaBatchFactor;
        var batches = new List<SampledGroup[]>(BatchesPerEpoch);
        for (var start = 0; start < groups.Length; start += mega)
        {
            var chunk = groups.AsSpan(start, Math.Min(mega, groups.Length - start)).ToArray();
            var sorted = chunk.OrderByDescending(g => LongestPassage(examples[g.Example], g)).ThenByDescending(g => _length(examples[g.Example].Query)).ToArray();
            batches.AddRange(Cut(sorted));
        }
        var order = batches.ToArray();
        random.Shuffle(order);
        return order;
    }

    private List<SampledGroup[]> Cut(SampledGroup[] groups)
    {
        var batches = new List<SampledGroup[]>(BatchesPerEpoch);
        for (var start = 0; start < groups.Length; start += batchSize)
            batches.Add(groups.AsSpan(start, Math.Min(batchSize, groups.Length - start)).ToArray());
        return batches;
    }

    /// <summary>
    /// The group's longest passage. The collator pads every passage to the batch's longest, and passages are G of every
    /// G + 1 texts, so batches of similar longest passages pad least. Sorting by the group's total length in characters
    /// instead put a group with one long negative beside groups of short ones, and characters are a poor measure of
    /// tokens across scripts (docs/training.md has the padding each key leaves on debian-l10n).
    /// </summary>
    private int LongestPassage(TrainingExample e, SampledGroup g) =>
        Math.Max(_length(e.Positives[g.Positive]), g.Negatives.Length == 0 ? 0 : g.Negatives.Max(n => _length(e.Negatives[n])));
}
