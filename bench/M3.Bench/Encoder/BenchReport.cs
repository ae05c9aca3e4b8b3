using System.Text.Json;
using System.Text.Json.Serialization;

namespace M3.Bench.Encoder;

/// <summary>Throughput of one engine on one workload, one timed pass per round; rates use the median pass.</summary>
/// <param name="PaddedTokens">Tokens the engine ran, padding included (count × longest, per batch).</param>
/// <param name="ModelFlops">What the model needs for these texts (<see cref="Encoder.ModelFlops"/>), padding excluded.</param>
public sealed record Throughput(int Texts, long Tokens, long PaddedTokens, IReadOnlyList<double> RoundSeconds, double ModelFlops)
{
    public double Seconds => Spread.Of(RoundSeconds)!.Median;
    public double TokensPerSecond => Tokens / Seconds;
    public double TextsPerSecond => Texts / Seconds;
    public double PaddingWaste => Tokens == 0 ? 0 : (double)PaddedTokens / Tokens - 1;
    public double Gflops => ModelFlops / Seconds / 1e9;

    /// <summary>Tokens per second of the pass in round <paramref name="round"/>, or null when it did not run then.</summary>
    public double? TokensPerSecondIn(int round) => round < RoundSeconds.Count && RoundSeconds[round] > 0 ? Tokens / RoundSeconds[round] : null;
}

/// <summary>Median and range of a measurement over rounds.</summary>
public sealed record Spread(double Median, double Min, double Max)
{
    public static Spread? Of(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0) return null;
        var mid = sorted.Length / 2;
        var median = sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
        return new(median, sorted[0], sorted[^1]);
    }

    public override string ToString() => Min == Max ? $"{Median:F2}×" : $"{Median:F2}× ({Min:F2}–{Max:F2})";
}

/// <summary>One engine's results; Error says why it did not run (the rest of the report still stands).</summary>
public sealed class EngineResult
{
    public required string Engine { get; init; }
    public string? Version { get; set; }
    public string? Error { get; set; }
    public double LoadSeconds { get; set; }

    /// <summary>Peak resident set of the engine's own process (VmHWM for ours and the export; ru_maxrss for PyTorch).</summary>
    public long PeakRssBytes { get; set; }

    public Dictionary<string, Throughput> Workloads { get; } = [];

    /// <summary>Per workload, the worker's summary of its outputs (our engines only), for the int8-against-fp32 comparison.</summary>
    [JsonIgnore] public IReadOnlyDictionary<string, string> SummaryFiles { get; set; } = new Dictionary<string, string>();
}

public sealed record KernelRate(string Kernel, int K, int N, double Gflops);

public sealed record WorkloadInfo(int Texts, long Tokens, int MinTokens, int MaxTokens, int BatchSize, int? MaxBatchTokens);

/// <summary>
/// Throughput ratios of one of our modes against the peers on one workload, each computed within a round and summarized over
/// rounds (null when a side did not run).
/// </summary>
public sealed record PeerRatios(Spread? VsOrtExport, Spread? VsTorch);

public sealed class BenchReport
{
    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public DateTime Date { get; init; } = DateTime.UtcNow;
    public required MachineDescription Machine { get; init; }
    public bool Quick { get; init; }

    /// <summary>Rounds: in each, every engine times one pass over every workload, one engine after the other.</summary>
    public int Rounds { get; init; }

    public required string Checkpoint { get; init; }
    public required Dictionary<string, WorkloadInfo> Workloads { get; init; }

    /// <summary>Whether our int8 mode ran attention's products in int8 (M3Sharp's native operator) or in float32 (ONNX Runtime's).</summary>
    public bool Int8Attention { get; init; }

    /// <summary>fp32 MatMul GFLOP/s through ONNX Runtime on this machine, same threads: the median of <see cref="CeilingRounds"/>.</summary>
    public double? CeilingGflops => CeilingRounds.Count > 0 ? Spread.Of(CeilingRounds)!.Median : null;

    /// <summary>The fp32 ceiling measured at the start of each round, so a round the machine slowed down shows.</summary>
    public List<double> CeilingRounds { get; } = [];

    /// <summary>Matrix-product kernels on the feed-forward shapes (why the int8 mode uses DynamicQuantizeMatMul).</summary>
    public List<KernelRate> Kernels { get; set; } = [];

    public Dictionary<string, EngineResult> Engines { get; } = [];

    /// <summary>int8 against fp32 on the tiny fixture ("tiny") and the full-size checkpoint ("full").</summary>
    public Dictionary<string, Fidelity?> Fidelity { get; } = [];

    /// <summary>Ratios per mode ("fp32", "int8") and workload.</summary>
    public Dictionary<string, Dictionary<string, PeerRatios>> Ratios { get; } = [];

    public List<string> Notes { get; } = [];

    public void Complete()
    {
        foreach (var e in Engines.Values)
            if (e.Error is not null) Notes.Add($"{e.Engine} failed: {e.Error}");
        foreach (var (mode, engine) in new[] { ("fp32", EngineWorker.OursFp32), ("int8", EngineWorker.OursInt8) })
        {
            var perWorkload = new Dictionary<string, PeerRatios>();
            foreach (var workload in Workloads.Keys)
                perWorkload[workload] = new(Ratio(engine, EngineWorker.OrtExport, workload), Ratio(engine, "torch", workload));
            Ratios[mode] = perWorkload;
        }
    }

    /// <summary>
    /// Throughput (tokens/s) of one engine over another on a workload, computed within each round where both ran: a round
    /// the machine was busier slows both sides of its ratio alike.
    /// </summary>
    public Spread? Ratio(string engine, string peer, string workload)
    {
        if (Engines.GetValueOrDefault(engine)?.Workloads.GetValueOrDefault(workload) is not { } a
            || Engines.GetValueOrDefault(peer)?.Workloads.GetValueOrDefault(workload) is not { } b) return null;
        var perRound = Enumerable.Range(0, Rounds)
            .Select(r => a.TokensPerSecondIn(r) is { } x && b.TokensPerSecondIn(r) is { } y ? x / y : (double?)null)
            .OfType<double>();
        return Spread.Of(perRound);
    }

    /// <summary>The benchmark's one-line result: each ratio's median over rounds, and its range as KEY_min and KEY_max.</summary>
    public Dictionary<string, double?> Summary()
    {
        static double? Round(double? x) => x is { } v ? Math.Round(v, 4) : null;
        var summary = new Dictionary<string, double?>();
        foreach (var (key, engine, peer, workload) in new[]
        {
            ("fp32_vs_ort_export", EngineWorker.OursFp32, EngineWorker.OrtExport, Encoder.Workloads.Short),
            ("int8_vs_ort_export", EngineWorker.OursInt8, EngineWorker.OrtExport, Encoder.Workloads.Short),
            ("fp32_vs_torch", EngineWorker.OursFp32, "torch", Encoder.Workloads.Short),
            ("int8_vs_torch", EngineWorker.OursInt8, "torch", Encoder.Workloads.Short),
            ("fp32_vs_ort_export_docs", EngineWorker.OursFp32, EngineWorker.OrtExport, Encoder.Workloads.Docs),
            ("int8_vs_ort_export_docs", EngineWorker.OursInt8, EngineWorker.OrtExport, Encoder.Workloads.Docs),
        })
        {
            var ratio = Ratio(engine, peer, workload);
            summary[key] = Round(ratio?.Median);
            summary[key + "_min"] = Round(ratio?.Min);
            summary[key + "_max"] = Round(ratio?.Max);
        }
        // The worse of the two checkpoints: the target holds on both.
        var cosines = Fidelity.Values.Where(f => f is not null).Select(f => f!.MinDenseCosine).ToList();
        summary["int8_min_dense_cosine"] = cosines.Count == 0 ? null : Round(cosines.Min());
        return summary;
    }
}
