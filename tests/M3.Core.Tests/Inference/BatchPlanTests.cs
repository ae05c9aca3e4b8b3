using M3.Core.Inference;

namespace M3.Core.Tests.Inference;

public sealed class BatchPlanTests
{
    [Fact]
    public void Batches_are_longest_first_and_limited_by_count()
    {
        var plan = BatchPlan.Create([3, 9, 5, 9, 1], batchSize: 2, maxBatchTokens: null);
        Assert.Equal([[1, 3], [2, 0], [4]], plan.Batches);
        Assert.Equal(27, plan.RealTokens);
        Assert.Equal(2 * 9 + 2 * 5 + 1, plan.PaddedTokens);
        Assert.Equal(29.0 / 27 - 1, plan.PaddingWaste, 12);
    }

    [Fact]
    public void Token_budget_caps_padded_tokens_and_a_longer_text_runs_alone()
    {
        var plan = BatchPlan.Create([100, 30, 30, 30, 30, 8192], batchSize: 16, maxBatchTokens: 64);
        Assert.Equal([[5], [0], [1, 2], [3, 4]], plan.Batches);
        foreach (var batch in plan.Batches.Skip(2)) Assert.True(batch.Length * 30 <= 64);
    }

    [Fact]
    public void Long_texts_run_alone_even_within_the_budget()
    {
        int n = BatchPlan.AloneFromTokens;
        var plan = BatchPlan.Create([n, n, n - 1, n - 1], batchSize: 16, maxBatchTokens: null);
        Assert.Equal([[0], [1], [2, 3]], plan.Batches);
    }

    [Fact]
    public void A_batch_ends_where_attention_padding_would_outweigh_its_work()
    {
        // One 290-token line and thirty 15-token ones: padded to 290, the short lines' attention would be 370 times their own.
        int[] lengths = [290, .. Enumerable.Repeat(15, 30)];
        var plan = BatchPlan.Create(lengths, batchSize: 64, maxBatchTokens: null);
        Assert.InRange(plan.Batches[0].Length, 1, 3);
        Assert.Equal(2, plan.Batches.Count);
        // Short texts pad each other for nothing worth mentioning: they stay in one batch.
        Assert.Single(BatchPlan.Create([30, .. Enumerable.Repeat(3, 40)], batchSize: 64, maxBatchTokens: null).Batches);
    }

    [Fact]
    public void A_pass_budget_ends_a_batch_before_its_real_tokens_exceed_it()
    {
        var plan = BatchPlan.Create([300, 200, 200, 100, 100, 100, 700], batchSize: 16, maxBatchTokens: null, maxPassTokens: 500);
        Assert.Equal([[6], [0, 1], [2, 3, 4, 5]], plan.Batches);
        // Our encoder's plan applies it; the plan given to a padded graph does not.
        int[] lengths = [.. Enumerable.Repeat(300, 4)];
        Assert.Equal(4, BatchPlan.Create(lengths, new M3EncodeOptions { BatchSize = 16 }).Batches.Count);
        Assert.Single(BatchPlan.Create(lengths, batchSize: 16, maxBatchTokens: null).Batches);
    }

    [Fact]
    public void Equal_lengths_keep_input_order_and_waste_nothing()
    {
        var plan = BatchPlan.Create([4, 4, 4], batchSize: 16, maxBatchTokens: null);
        Assert.Equal([[0, 1, 2]], plan.Batches);
        Assert.Equal(0, plan.PaddingWaste);
    }

    [Fact]
    public void Invalid_limits_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => BatchPlan.Create([1], 0, null));
        Assert.Throws<ArgumentOutOfRangeException>(() => BatchPlan.Create([1], 1, 0));
    }
}
