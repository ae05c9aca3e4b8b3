using System.Threading.Channels;
using M3.Core.Encoding;
using M3.Core.Representations;
using M3.Server.Http;

namespace M3.Server.Batching;

/// <summary>
/// Dynamic batching: every text of every request becomes a work item in one queue; a single worker takes whatever is
/// waiting (up to the batch size) and encodes it in one call, which sorts by length and splits into token-budget
/// forward passes. Requests arriving together therefore share forward passes instead of each running alone.
/// The queue is bounded by a count of pending texts: a request that does not fit is refused whole (429).
/// </summary>
public sealed class EncodeScheduler : IAsyncDisposable
{
    private sealed record Item(string Text, M3EncodeOptions Options, TaskCompletionSource<M3Embedding> Done);

    private readonly Func<IReadOnlyList<string>, M3EncodeOptions, IReadOnlyList<M3Embedding>> _encode;
    private readonly Channel<Item> _queue = Channel.CreateUnbounded<Item>(new UnboundedChannelOptions { SingleReader = true });
    private readonly int _capacity, _maxBatch;
    private readonly ServerMetrics _metrics;
    private readonly Task _worker;
    private int _pending;

    public EncodeScheduler(Func<IReadOnlyList<string>, M3EncodeOptions, IReadOnlyList<M3Embedding>> encode, int capacity, int maxBatch, ServerMetrics metrics)
    {
        _encode = encode;
        _capacity = capacity;
        _maxBatch = maxBatch;
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
            _queue.Writer.TryWrite(new Item(texts[i], options, done));
        }
        return Task.WhenAll(tasks);
    }

    private async Task WorkAsync()
    {
        var waiting = new List<Item>();
        while (waiting.Count > 0 || await _queue.Reader.WaitToReadAsync())
        {
            while (waiting.Count < _maxBatch && _queue.Reader.TryRead(out var item)) waiting.Add(item);
            if (waiting.Count == 0) continue;
            // One encode call per distinct option set (outputs, max length, MCLS), oldest first.
            var options = waiting[0].Options;
            var batch = waiting.Where(w => w.Options == options).ToList();
            waiting.RemoveAll(w => w.Options == options);
            try
            {
                var results = _encode(batch.Select(b => b.Text).ToList(), options);
                _metrics.RecordBatch(batch.Count, results.Sum(r => r.TokenCount));
                for (int i = 0; i < batch.Count; i++) batch[i].Done.SetResult(results[i]);
            }
            catch (Exception e)
            {
                foreach (var b in batch) b.Done.SetException(e);
            }
            finally
            {
                Interlocked.Add(ref _pending, -batch.Count);
                _metrics.SetQueueDepth(Pending);
            }
        }
    }

    /// <summary>Stops taking work and finishes what is queued.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _worker;
    }
}
