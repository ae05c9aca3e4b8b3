using M3.Core.Encoding;
using M3.Core.Representations;
using M3.Server.Batching;
using M3.Server.Http;

namespace M3.Server.Tests;

/// <summary>The scheduler's pass composition, with a fake encoder whose token count is the text's length.</summary>
public sealed class EncodeSchedulerTests
{
    private readonly List<string[]> _calls = [];
    private readonly SemaphoreSlim _firstCall = new(0);
    private readonly ServerMetrics _metrics = new();

    private EncodeScheduler Create() => new((texts, _) =>
    {
        lock (_calls) _calls.Add([.. texts]);
        if (_calls.Count == 1) _firstCall.Wait(); // holds the worker so that the rest queues up behind it
        return texts.Select(t => new M3Embedding([t.Length], null, null, t.Length)).ToList();
    }, (text, _) => text.Length, capacity: 100, _metrics);

    [Fact]
    public async Task Each_pass_is_the_oldest_text_and_its_batch_and_every_text_gets_its_own_result()
    {
        var options = new M3EncodeOptions { BatchSize = 64, MaxBatchTokens = 8192 };
        await using var scheduler = Create();
        var blocker = scheduler.TryEncode(["x"], options)!;
        while (_calls.Count == 0) await Task.Delay(1);

        string Long(char c) => new(c, BatchPlan.AloneFromTokens);
        var shortFirst = scheduler.TryEncode(["aa", "bbb"], options)!;
        var longOne = scheduler.TryEncode([Long('L')], options)!;
        var shortLater = scheduler.TryEncode(["cccc"], options)!;
        _firstCall.Release();

        Assert.Equal([2f, 3f], (await shortFirst).Select(e => e.Dense![0]));
        Assert.Equal(BatchPlan.AloneFromTokens, (await longOne)[0].TokenCount);
        Assert.Equal(4f, (await shortLater)[0].Dense![0]);
        await blocker;
        // The oldest waiting text ("aa") leads: its pass takes the short texts, not the long one, which runs alone after.
        Assert.Equal([["x"], ["cccc", "bbb", "aa"], [Long('L')]], _calls);
        Assert.Equal(3, _metrics.Passes);
        Assert.Equal(0, scheduler.Pending);
    }

    [Fact]
    public async Task Texts_with_other_options_wait_for_their_own_pass()
    {
        await using var scheduler = Create();
        var blocker = scheduler.TryEncode(["x"], M3EncodeOptions.Default)!;
        while (_calls.Count == 0) await Task.Delay(1);
        var dense = scheduler.TryEncode(["aa"], M3EncodeOptions.Default with { Outputs = M3Outputs.Dense })!;
        var all = scheduler.TryEncode(["bb"], M3EncodeOptions.Default)!;
        _firstCall.Release();
        await Task.WhenAll(blocker, dense, all);
        Assert.Equal([["x"], ["aa"], ["bb"]], _calls);
    }

    [Fact]
    public async Task A_request_that_does_not_fit_the_queue_is_refused_whole()
    {
        await using var scheduler = new EncodeScheduler((t, _) => t.Select(x => new M3Embedding(null, null, null, 1)).ToList(), (_, _) => 1, capacity: 2, _metrics);
        Assert.Null(scheduler.TryEncode(["a", "b", "c"], M3EncodeOptions.Default));
        Assert.Equal(0, scheduler.Pending);
    }
}
