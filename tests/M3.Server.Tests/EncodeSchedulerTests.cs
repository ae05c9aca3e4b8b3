using M3.Core.Inference;
using M3.Core.Representations;
using M3.Server.Batching;
using M3.Server.Http;
using Microsoft.Extensions.Logging;

namespace M3.Server.Tests;

/// <summary>
/// The scheduler's pass composition, with a fake encoder: a text is a token id array whose first id names it, and the
/// fake's dense vector is that id. The first pass is held until released, so that the rest queues up behind it.
/// </summary>
public sealed class EncodeSchedulerTests
{
    private readonly List<int[]> _calls = [];
    private readonly SemaphoreSlim _firstCall = new(0);
    private readonly ServerMetrics _metrics = new();
    private readonly CapturedLogs _logs = new();
    private static readonly M3EncodeOptions Options = new() { BatchSize = 64, MaxBatchTokens = 8192 };

    private EncodeScheduler Create(int capacity = 1000) => new((texts, _) =>
    {
        lock (_calls) _calls.Add(texts.Select(t => t[0]).ToArray());
        if (_calls.Count == 1) _firstCall.Wait();
        return texts.Select(t => new M3Embedding([t[0]], null, null, t.Length)).ToList();
    }, capacity, _metrics, new LoggerFactory([_logs]).CreateLogger<EncodeScheduler>());

    /// <summary>Text <paramref name="name"/> of <paramref name="tokens"/> tokens.</summary>
    private static int[] Text(int name, int tokens) => [name, .. new int[tokens - 1]];

    private async Task<Task<M3Embedding[]>> HoldWorkerAsync(EncodeScheduler scheduler)
    {
        var blocker = scheduler.TryEncode([Text(0, 2)], Options)!;
        while (_calls.Count == 0) await Task.Delay(1);
        return blocker;
    }

    [Fact]
    public async Task Each_pass_is_the_oldest_text_and_its_batch_and_every_text_gets_its_own_result()
    {
        await using var scheduler = Create();
        var blocker = await HoldWorkerAsync(scheduler);
        var shortFirst = scheduler.TryEncode([Text(1, 2), Text(2, 3)], Options)!;
        var longOne = scheduler.TryEncode([Text(3, BatchPlan.AloneFromTokens)], Options)!;
        var shortLater = scheduler.TryEncode([Text(4, 4)], Options)!;
        _firstCall.Release();

        Assert.Equal([1f, 2f], (await shortFirst).Select(e => e.Dense![0]));
        Assert.Equal(BatchPlan.AloneFromTokens, (await longOne)[0].TokenCount);
        Assert.Equal(4f, (await shortLater)[0].Dense![0]);
        await blocker;
        // The first request leads: its pass takes the short texts of every request, not the long one, which runs alone after.
        Assert.Equal([[0], [4, 2, 1], [3]], _calls);
        Assert.Equal(3, _metrics.Passes);
        Assert.Equal(0, scheduler.Pending);
    }

    [Fact]
    public async Task A_request_of_many_long_texts_does_not_hold_the_encoder_while_a_small_one_waits()
    {
        await using var scheduler = Create();
        var blocker = await HoldWorkerAsync(scheduler);
        // 80 texts that each need a pass of their own, then one short text from another request.
        var big = scheduler.TryEncode(Enumerable.Range(100, 80).Select(i => Text(i, BatchPlan.AloneFromTokens)).ToList(), Options)!;
        var small = scheduler.TryEncode([Text(1, 5)], Options)!;
        _firstCall.Release();
        await Task.WhenAll(blocker, big, small);
        // Requests take turns leading a pass: the small one waits for one pass of the big one, not for all 80.
        Assert.Equal([0], _calls[0]);
        Assert.Equal([100], _calls[1]);
        Assert.Equal([1], _calls[2]);
        Assert.Equal(Enumerable.Range(100, 80), _calls.Skip(1).Where(c => c[0] != 1).Select(c => Assert.Single(c)));
    }

    [Fact]
    public async Task Requests_take_turns_so_that_three_requests_interleave()
    {
        await using var scheduler = Create();
        var blocker = await HoldWorkerAsync(scheduler);
        var a = scheduler.TryEncode([Text(10, 600), Text(11, 600), Text(12, 600)], Options)!;
        var b = scheduler.TryEncode([Text(20, 600), Text(21, 600)], Options)!;
        var c = scheduler.TryEncode([Text(30, 600)], Options)!;
        _firstCall.Release();
        await Task.WhenAll(blocker, a, b, c);
        Assert.Equal([[0], [10], [20], [30], [11], [21], [12]], _calls);
    }

    [Fact]
    public async Task Texts_of_a_cancelled_request_are_dropped_not_encoded()
    {
        await using var scheduler = Create();
        var blocker = await HoldWorkerAsync(scheduler);
        using var gone = new CancellationTokenSource();
        var abandoned = scheduler.TryEncode([Text(1, 600), Text(2, 600), Text(3, 3)], Options, gone.Token)!;
        var other = scheduler.TryEncode([Text(4, 3)], Options)!;
        Assert.Equal(5, scheduler.Pending);
        gone.Cancel();
        _firstCall.Release();
        await Task.WhenAll(blocker, other);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);
        Assert.Equal([[0], [4]], _calls);
        Assert.Equal(0, scheduler.Pending);
        Assert.Contains("m3_dropped_texts_total 3\n", _metrics.Render());
    }

    [Fact]
    public async Task Texts_with_other_options_wait_for_their_own_pass()
    {
        await using var scheduler = Create();
        var blocker = await HoldWorkerAsync(scheduler);
        var dense = scheduler.TryEncode([Text(1, 2)], Options with { Outputs = M3Outputs.Dense })!;
        var all = scheduler.TryEncode([Text(2, 2)], Options)!;
        _firstCall.Release();
        await Task.WhenAll(blocker, dense, all);
        Assert.Equal([[0], [1], [2]], _calls);
    }

    [Fact]
    public async Task A_request_that_does_not_fit_the_queue_is_refused_whole()
    {
        await using var scheduler = Create(capacity: 2);
        Assert.Null(scheduler.TryEncode([Text(1, 2), Text(2, 2), Text(3, 2)], Options));
        Assert.Equal(0, scheduler.Pending);
    }

    [Fact]
    public async Task A_failed_pass_fails_its_texts_is_logged_and_the_worker_goes_on()
    {
        await using var scheduler = new EncodeScheduler((texts, _) => texts[0][0] == 1
            ? throw new InvalidOperationException("boom")
            : texts.Select(t => new M3Embedding([t[0]], null, null, t.Length)).ToList(), 10, _metrics, new LoggerFactory([_logs]).CreateLogger<EncodeScheduler>());
        await Assert.ThrowsAsync<InvalidOperationException>(() => scheduler.TryEncode([Text(1, 2)], Options)!);
        Assert.Equal(2f, (await scheduler.TryEncode([Text(2, 2)], Options)!)[0].Dense![0]);
        Assert.Contains(_logs.Entries, e => e.Level == LogLevel.Error && e.Exception?.Message == "boom");
        Assert.Null(scheduler.Failure);
    }

    [Fact]
    public async Task A_worker_that_stops_says_so_and_refuses_work_with_503()
    {
        await using var scheduler = Create();
        // Options the server never passes (it validates its batch size): planning fails outside any pass, in the worker itself.
        var planned = scheduler.TryEncode([Text(1, 2)], Options with { BatchSize = 0 })!;
        Assert.Equal(503, (await Assert.ThrowsAsync<ApiError>(() => planned)).Status);
        Assert.NotNull(scheduler.Failure);
        Assert.Contains(_logs.Entries, e => e.Level == LogLevel.Critical && e.Exception is ArgumentOutOfRangeException);
        ApiError? refused = null;
        try { _ = scheduler.TryEncode([Text(2, 2)], Options); }
        catch (ApiError e) { refused = e; }
        Assert.Equal(503, refused?.Status);
    }
}
