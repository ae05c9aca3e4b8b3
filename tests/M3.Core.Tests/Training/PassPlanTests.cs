using M3.Core.Training;

namespace M3.Core.Tests.Training;

/// <summary>How a batch is split into encoder passes: the fewest passes within the limits, the largest as small as it can be.</summary>
public sealed class PassPlanTests
{
    /// <summary>The benchmark's long batch: 2 queries, then 16 passages of 256 tokens.</summary>
    private static readonly int[] Long = [30, 25, .. Enumerable.Repeat(256, 16)];

    [Fact]
    public void A_long_batch_runs_in_the_fewest_passes_with_the_smallest_largest_pass()
    {
        Assert.Equal([7, 6, 5], PassPlan.Split(Long, 2048, null));
        Assert.Equal(1536, Largest(Long, PassPlan.Split(Long, 2048, null)));
    }

    [Fact]
    public void A_sub_batch_size_caps_the_texts_per_pass_within_the_budget()
    {
        Assert.Equal([4, 4, 4, 4, 2], PassPlan.Split(Long, 2048, 4));
        // The budget still holds when it is the tighter limit.
        var tight = PassPlan.Split(Long, 512, 4);
        Assert.All(Passes(Long, tight), p => Assert.True(p.Sum() <= 512));
        Assert.True(tight.All(c => c <= 4));
    }

    [Fact]
    public void A_batch_within_the_budget_is_one_pass_and_a_text_beyond_it_runs_alone()
    {
        Assert.Equal([18], PassPlan.Split(Long, 8192, null));
        Assert.Equal([1, 1, 2], PassPlan.Split([10, 3000, 10, 10], 2048, null));
    }

    [Fact]
    public void Every_text_is_in_exactly_one_pass_in_order()
    {
        var random = new Random(5);
        for (int trial = 0; trial < 200; trial++)
        {
            var lengths = Enumerable.Range(0, random.Next(1, 40)).Select(_ => random.Next(2, 600)).ToArray();
            int budget = random.Next(1, 3000);
            int? max = random.Next(3) == 0 ? null : random.Next(1, 10);
            var split = PassPlan.Split(lengths, budget, max);
            Assert.Equal(lengths.Length, split.Sum());
            Assert.All(Passes(lengths, split), p => Assert.True(p.Length == 1 || p.Sum() <= budget));
            if (max is { } m) Assert.True(split.All(c => c <= m));
        }
    }

    private static int Largest(int[] lengths, List<int> split) => Passes(lengths, split).Max(p => p.Sum());

    private static IEnumerable<int[]> Passes(int[] lengths, List<int> split)
    {
        int start = 0;
        foreach (var count in split)
        {
            yield return lengths[start..(start + count)];
            start += count;
        }
    }
}
