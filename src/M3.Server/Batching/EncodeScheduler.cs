using System.Diagnostics;
using System.Threading.Channels;
using M3.Core.Inference;
using M3.Core.Representations;
using M3.Server.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace M3.Server.Batching;

/// <summary>
/// Dynamic batching: every text of every request becomes a work item in one queue, and a single worker runs one forward
/// pass at a time. Requests take turns leading a pass (round-robin), so a request of many long texts cannot hold the
/// encoder while a small one waits behind all of it; the leader's oldest waiting text is joined by the waiting texts of any
/// request that <see cref="BatchPlan"/> groups with it (similar length, same options, within the batch size and token
/// budget). Each text is answered as soon as its own pass is done, and texts arriving during a pass join the next one.
/// The queue is bounded by a count of pending texts: a request that does not fit is refused whole (429). A request whose
/// token is cancelled (its client went away) has its waiting texts dropped, not encoded.
/// </summary>
internal sealed class EncodeScheduler : IAsyncDisposable
{
    private sealed class Request(CancellationToken cancelled)
    {
        public readonly Queue<Item> Waiting = new();
        public CancellationToken Cancelled { get; } = cancelled;
    }

    private sealed record Item(int[] Tokenized, int Tokens, M3EncodeOptions Options, Request Request, TaskCompletionSource<M3Embedding> Done);

    private readonly PassEncoder _encode;
    private readonly Channel<Item> _queue = Channel.CreateUnbounded<Item>(new UnboundedChannelOptions { SingleReader = true });
    private readonly int _capacity;
    private readonly ServerMetrics _metrics;
    private readonly ILogger _logger;
    private readonly Task _worker;
    private int _pending;
    private Exception? _failure;

    public EncodeScheduler(PassEncoder encode, int capacity, ServerMetrics metrics, ILogger<EncodeScheduler>? logger = null)
    {
        _encode = encode;
        _capacity = capacity;
        _metrics = metrics;
        _logger = logger ?? NullLogger<EncodeScheduler>.Instance;
        _worker = Task.Run(WorkAsync);
    }

    public int Pending => Volatile.Read(ref _pending);

    /// <summary>Why the worker stopped (a bug: it is logged, /health answers 503 and requests are refused), or null.</summary>
    public Exception? Failure => Volatile.Read(ref _failure);

    /// <summary>
    /// Queues one request's texts, tokenized by <see cref="M3Encoder"/> under <paramref name="options"/>; null when the
    /// queue cannot take them all (the caller answers 429). Cancelling <paramref name="cancelled"/> drops the texts still
    /// waiting and cancels the returned task.
    /// </summary>
    public Task<M3Embedding[]>? TryEncode(IReadOnlyList<int[]> tokenized, M3EncodeOptions options, CancellationToken cancelled = default)
    {
        if (Failure != null) throw new ApiError(503, "the encoder stopped; see the server log");
        if (Interlocked.Add(ref _pending, tokenized.Count) > _capacity)
        {
            Interlocked.Add(ref _pending, -tokenized.Count);
            return null;
        }
        _metrics.SetQueueDepth(Pending);
        var request = new Request(cancelled);
        var tasks = new Task<M3Embedding>[tokenized.Count];
        for (int i = 0; i < tokenized.Count; i++)
        {
            var done = new TaskCompletionSource<M3Embedding>(TaskCreationOptions.RunContinuationsAsynchronously);
            tasks[i] = done.Task;
            _queue.Writer.TryWrite(new Item(tokenized[i], M3Encoder.EncodedLength(tokenized[i].Length, options), options, request, done));
        }
        return Task.WhenAll(tasks);
    }

    private async Task WorkAsync()
    {
        var turns = new LinkedList<Request>(); // requests with waiting texts, the next to lead a pass first
        try
        {
            while (turns.Count > 0 || await _queue.Reader.WaitToReadAsync())
            {
                while (_queue.Reader.TryRead(out var item))
                {
                    if (item.Request.Waiting.Count == 0) turns.AddLast(item.Request);
                    item.Request.Waiting.Enqueue(item);
                }
                DropCancelled(turns);
                if (turns.Count == 0) continue;
                var pass = NextPass(turns);
                var leader = turns.First!.Value;
                turns.RemoveFirst();
                turns.AddLast(leader);
                foreach (var emptied in turns.Where(r => r.Waiting.Count == 0).ToList()) turns.Remove(emptied);
                Run(pass);
            }
        }
        catch (Exception e)
        {
            // Only a bug gets here (a pass' own failure fails its texts): say so loudly and refuse work from now on.
            _logger.LogCritical(e, "the encoder worker stopped; requests are refused with 503 until the server restarts");
            Volatile.Write(ref _failure, e);
            var refused = new ApiError(503, "the encoder stopped; see the server log");
            _queue.Writer.TryComplete();
            while (_queue.Reader.TryRead(out var item)) item.Request.Waiting.Enqueue(item);
            foreach (var item in turns.SelectMany(r => r.Waiting)) item.Done.TrySetException(refused);
        }
    }

    /// <summary>Drops the waiting texts of requests whose client went away: they are never encoded.</summary>
    private void DropCancelled(LinkedList<Request> turns)
    {
        for (var node = turns.First; node != null;)
        {
            var next = node.Next;
            if (node.Value.Cancelled.IsCancellationRequested)
            {
                int dropped = node.Value.Waiting.Count;
                foreach (var item in node.Value.Waiting) item.Done.TrySetCanceled(node.Value.Cancelled);
                node.Value.Waiting.Clear();
                turns.Remove(node);
                Interlocked.Add(ref _pending, -dropped);
                _metrics.RecordDropped(dropped);
                _metrics.SetQueueDepth(Pending);
            }
            node = next;
        }
    }

    /// <summary>
    /// The oldest text of the request whose turn it is and the waiting texts of the same options that the batch plan puts in its batch; the
    /// candidates are listed request by request in turn order, so equal lengths favour the requests whose turn is next.
    /// </summary>
    private static List<Item> NextPass(LinkedList<Request> turns)
    {
        var first = turns.First!.Value.Waiting.Peek();
        var candidates = turns.SelectMany(r => r.Waiting).Where(w => w.Options == first.Options).ToList();
        var plan = BatchPlan.Create(candidates.Select(c => c.Tokens).ToArray(), first.Options);
        var pass = plan.Batches.First(b => b.Contains(0)).Select(i => candidates[i]).ToList();
        var taken = pass.ToHashSet();
        foreach (var request in turns)
        {
            var keep = request.Waiting.Where(w => !taken.Contains(w)).ToList();
            request.Waiting.Clear();
            foreach (var w in keep) request.Waiting.Enqueue(w);
        }
        return pass;
    }

    private void Run(List<Item> pass)
    {
        try
        {
            long started = Stopwatch.GetTimestamp();
            var results = _encode(pass.Select(b => b.Tokenized).ToList(), pass[0].Options);
            _metrics.RecordBatch(pass.Count, results.Sum(r => r.TokenCount), Stopwatch.GetElapsedTime(started));
            for (int i = 0; i < pass.Count; i++) pass[i].Done.TrySetResult(results[i]);
        }
        catch (Exception e)
        {
            _logger.LogError(e, "a forward pass of {Texts} texts failed", pass.Count);
            foreach (var b in pass) b.Done.TrySetException(e);
        }
        finally
        {
            Interlocked.Add(ref _pending, -pass.Count);
            _metrics.SetQueueDepth(Pending);
        }
    }

    /// <summary>Stops taking work and finishes what is queued.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _worker;
    }
}
