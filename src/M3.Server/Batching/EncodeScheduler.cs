using System.Threading.Channels;
using M3.Core.Encoding;
using M3.Core.Representations;
using M3.Server.Http;

namespace M3.Server.Batching;

/// <summary>
/// Dynamic batching: every text of every request becomes a work item in one queue, and a single worker runs one forward
/// pass at a time: the oldest waiting text together with the waiting texts that <see cref="BatchPlan"/> groups with it
/// (similar length, same options, within the batch size and token budget). Requests arriving together therefore share
/// forward passes, and each text is answered as soon as its own pass is done: a short text does not wait for a long one
/// that happened to arrive with it, and texts that arrive during a pass join the next one.
/// The queue is bounded by a count of pending texts: a request that does not fit is refused whole (429).
/// </summary>
public sealed class EncodeScheduler : IAsyncDisposable
{
    private sealed record Item(string Text, int Tokens, M3EncodeOptions Options, TaskCompletionSource<M3Embedding> Done);

    private readonly Func<IReadOnlyList<string>, M3EncodeOptions, IReadOnlyList<M3Embedding>> _encode;
    private readonly Func<string, M3EncodeOptions, int> _countTokens;
    private readonly Channel<Item> _queue = Channel.CreateUnbounded<Item>(new UnboundedChannelOptions { SingleReader = true });
    private readonly int _capacity;
    private readonly ServerMetrics _metrics;
    private readonly Task _worker;
    private int _pending;

    /// <param name="encode">Encodes texts (one forward pass' worth each call).</param>
    /// <param name="countTokens">A text's token count under the options, to plan passes before encoding.</param>
    public EncodeScheduler(Func<IReadOnlyList<string>, M3EncodeOptions, IReadOnlyList<M3Embedding>> encode,
        Func<string, M3EncodeOptions, int> countTokens, int capacity, ServerMetrics metrics)
    {
        _encode = encode;
        _countTokens = countTokens;
        _capacity = capacity;
        _metrics = metrics;
        _worker = Task.Run(WorkAsync);
    }

    public int Pending => Volatile.Read(ref _pending);

    /// <summary>Queues the texts; null when the queue cannot take them all (the caller answers 429).</summary>
    public Task<M3Embedding[]>? TryEncode(IReadOnlyList<string> texts, M3EncodeOptions options)
    {
        if (Interlocked.Add(ref _pending, texts.Count) > _capacity)
        {
            Interlocked.Add(ref _pending, -texts.Count);
            return null;
        }
        _metrics.SetQueueDepth(Pending);
        var tasks = new Task<M3Embedding>[texts.Count];
        for (int i = 0; i < texts.Count; i++)
        {
            var done = new TaskCompletionSource<M3Embedding>(TaskCreationOptions.RunContinuationsAsynchronously);
            tasks[i] = done.Task;
            _queue.Writer.TryWrite(new Item(texts[i], _countTokens(texts[i], options), options, done));
        }
        return Task.WhenAll(tasks);
    }

    private async Task WorkAsync()
    {
        var waiting = new List<Item>();
        while (waiting.Count > 0 || await _queue.Reader.WaitToReadAsync())
        {
            while (_queue.Reader.TryRead(out var item)) waiting.Add(item);
            if (waiting.Count == 0) continue;
            var pass = NextPass(waiting);
            var taken = pass.ToHashSet();
            waiting.RemoveAll(taken.Contains);
            try
            {
                long started = System.Diagnostics.Stopwatch.GetTimestamp();
                var results = _encode(pass.Select(b => b.Text).ToList(), pass[0].Options);
                _metrics.RecordBatch(pass.Count, results.Sum(r => r.TokenCount), System.Diagnostics.Stopwatch.GetElapsedTime(started));
                for (int i = 0; i < pass.Count; i++) pass[i].Done.SetResult(results[i]);
            }
            catch (Exception e)
            {
                foreach (var b in pass) b.Done.SetException(e);
            }
            finally
            {
                Interlocked.Add(ref _pending, -pass.Count);
                _metrics.SetQueueDepth(Pending);
            }
        }
    }

    /// <summary>The oldest waiting text and the texts of the same options that the batch plan puts in its batch.</summary>
    private static List<Item> NextPass(List<Item> waiting)
    {
        var options = waiting[0].Options;
        var candidates = waiting.Where(w => w.Options == options).ToList(); // the oldest is candidates[0]
        var plan = BatchPlan.Create(candidates.Select(c => c.Tokens).ToArray(), options);
        return plan.Batches.First(b => b.Contains(0)).Select(i => candidates[i]).ToList();
    }

    /// <summary>Stops taking work and finishes what is queued.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _worker;
    }
}
