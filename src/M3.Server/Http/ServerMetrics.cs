using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace M3.Server.Http;

/// <summary>
/// Counters and histograms in the Prometheus text format. Written by hand: the handful of series here do not justify a
/// metrics dependency, and the exposition format is a few lines of text.
/// </summary>
internal sealed class ServerMetrics
{
    private static readonly double[] LatencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
    private static readonly double[] BatchBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256];

    private readonly ConcurrentDictionary<(string Endpoint, int Status), long> _requests = new();
    private readonly ConcurrentDictionary<string, Histogram> _latency = new();
    private readonly Histogram _batchSizes = new(BatchBuckets);
    private long _tokens, _passes, _encodeTicks;
    private long _queueDepth, _dropped;

    /// <summary>Forward passes run, tokens they encoded, and the time they took (busy time: its rate is the encoder's utilization).</summary>
    public long Passes => Interlocked.Read(ref _passes);
    public long TokensEncoded => Interlocked.Read(ref _tokens);
    public double EncodeSeconds => TimeSpan.FromTicks(Interlocked.Read(ref _encodeTicks)).TotalSeconds;

    public void RecordRequest(string endpoint, int status, double seconds)
    {
        _requests.AddOrUpdate((endpoint, status), 1, (_, n) => n + 1);
        _latency.GetOrAdd(endpoint, _ => new Histogram(LatencyBuckets)).Observe(seconds);
    }

    public void RecordBatch(int texts, long tokens, TimeSpan elapsed)
    {
        _batchSizes.Observe(texts);
        Interlocked.Add(ref _tokens, tokens);
        Interlocked.Increment(ref _passes);
        Interlocked.Add(ref _encodeTicks, elapsed.Ticks);
    }

    /// <summary>Texts dropped unencoded because their client went away.</summary>
    public void RecordDropped(int texts) => Interlocked.Add(ref _dropped, texts);

    public void SetQueueDepth(long depth) => Interlocked.Exchange(ref _queueDepth, depth);

    public string Render()
    {
        var sb = new StringBuilder();
        sb.Append("# HELP m3_requests_total HTTP requests by endpoint and status.\n# TYPE m3_requests_total counter\n");
        foreach (var ((endpoint, status), n) in _requests.OrderBy(x => x.Key))
            sb.Append(CultureInfo.InvariantCulture, $"m3_requests_total{{endpoint=\"{endpoint}\",status=\"{status}\"}} {n}\n");
        sb.Append("# HELP m3_request_duration_seconds Request latency.\n# TYPE m3_request_duration_seconds histogram\n");
        foreach (var (endpoint, h) in _latency.OrderBy(x => x.Key))
            h.Render(sb, "m3_request_duration_seconds", $"endpoint=\"{endpoint}\"");
        sb.Append("# HELP m3_batch_size Texts per encoder call.\n# TYPE m3_batch_size histogram\n");
        _batchSizes.Render(sb, "m3_batch_size", null);
        sb.Append("# HELP m3_tokens_total Tokens encoded (rate() gives tokens/s).\n# TYPE m3_tokens_total counter\n");
        sb.Append(CultureInfo.InvariantCulture, $"m3_tokens_total {Interlocked.Read(ref _tokens)}\n");
        sb.Append("# HELP m3_encode_seconds_total Time spent in forward passes (rate() gives the encoder's utilization).\n# TYPE m3_encode_seconds_total counter\n");
        sb.Append(CultureInfo.InvariantCulture, $"m3_encode_seconds_total {EncodeSeconds}\n");
        sb.Append("# HELP m3_dropped_texts_total Texts dropped unencoded because their client disconnected.\n# TYPE m3_dropped_texts_total counter\n");
        sb.Append(CultureInfo.InvariantCulture, $"m3_dropped_texts_total {Interlocked.Read(ref _dropped)}\n");
        sb.Append("# HELP m3_queue_depth Texts waiting to be encoded.\n# TYPE m3_queue_depth gauge\n");
        sb.Append(CultureInfo.InvariantCulture, $"m3_queue_depth {Interlocked.Read(ref _queueDepth)}\n");
        return sb.ToString();
    }

    private sealed class Histogram(double[] bounds)
    {
        private readonly long[] _counts = new long[bounds.Length + 1];
        private double _sum;
        private readonly Lock _lock = new();

        public void Observe(double value)
        {
            lock (_lock)
            {
                int i = 0;
                while (i < bounds.Length && value > bounds[i]) i++;
                _counts[i]++;
                _sum += value;
            }
        }

        public void Render(StringBuilder sb, string name, string? labels)
        {
            lock (_lock)
            {
                string prefix = labels == null ? "" : labels + ",";
                long cumulative = 0;
                for (int i = 0; i < bounds.Length; i++)
                {
                    cumulative += _counts[i];
                    sb.Append(CultureInfo.InvariantCulture, $"{name}_bucket{{{prefix}le=\"{bounds[i]}\"}} {cumulative}\n");
                }
                cumulative += _counts[^1];
                sb.Append(CultureInfo.InvariantCulture, $"{name}_bucket{{{prefix}le=\"+Inf\"}} {cumulative}\n");
                var braces = labels == null ? "" : $"{{{labels}}}";
                sb.Append(CultureInfo.InvariantCulture, $"{name}_sum{braces} {_sum}\n{name}_count{braces} {cumulative}\n");
            }
        }
    }
}
