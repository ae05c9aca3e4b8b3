using System.Text.Json;
using System.Text.Json.Serialization;

namespace M3.Bench.Encoder;

/// <summary>Throughput of one engine on one workload.</summary>
/// <param name="PaddedTokens">Tokens the engine ran, padding included (count × longest, per batch).</param>
/// <param name="ModelFlops">What the model needs for these texts (<see cref="Encoder.ModelFlops"/>), padding excluded.</param>
public sealed record Throughput(int Texts, long Tokens, long PaddedTokens, double Seconds, double ModelFlops)
{
    public double TokensPerSecond => Tokens / Seconds;
    public double TextsPerSecond => Texts / Seconds;
    public double PaddingWaste => Tokens == 0 ? 0 : (double)PaddedTokens / Tokens - 1;
    public double Gflops => ModelFlops / Seconds / 1e9;

    [JsonIgnore] public string? SummaryFile { get; init; }
}

/// <summary>One engine's results; Error says why it did not run (the rest of the report still stands).</summary>
public sealed class EngineResult
{
    public required string Engine { get; init; }
    public string? Version { get; set; }
    public string? Error { get; set; }
    public double LoadSeconds { get; init; }

    /// <summary>Peak resident set of the engine's own process (VmHWM for ours and the export; ru_maxrss for PyTorch).</summary>
    public long PeakRssBytes { get; set; }

    public Dictionary<string, Throughput> Workloads { get; } = [];

    public static EngineResult Failed(string engine, string error) => new() { Engine = engine, Error = error };
}

public sealed record KernelRate(string Kernel, int K, int N, double Gflops);

public sealed record WorkloadInfo(int Texts, long Tokens, int MinTokens, int MaxTokens, int BatchSize, int? MaxBatchTokens);

/// <summary>Throughput ratios of one of our modes against the peers on one workload (null when a side did not run).</summary>
public sealed record PeerRatios(double? VsOrtExport, double? VsTorch);

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

    /// <summary>Timed passes per engine and workload; the best is reported (the PyTorch script times one pass).</summary>
    public int Repeats { get; init; }

    public required string Checkpoint { get; init; }
    public required Dictionary<string, WorkloadInfo> Workloads { get; init; }

    /// <summary>fp32 MatMul GFLOP/s through ONNX Runtime on this machine, same threads.</summary>
    public double? CeilingGflops { get; set; }

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

    /// <summary>Throughput (tokens/s) of one engine over another on a workload.</summary>
    public double? Ratio(string engine, string peer, string workload) =>
        Engines.GetValueOrDefault(engine)?.Workloads.GetValueOrDefault(workload) is { } a
        && Engines.GetValueOrDefault(peer)?.Workloads.GetValueOrDefault(workload) is { } b
            ? a.TokensPerSecond / b.TokensPerSecond
            : null;

    /// <summary>The benchmark's one-line result.</summary>
    public Dictionary<string, double?> Summary()
    {
        double? Round(double? x) => x is { } v ? Math.Round(v, 4) : null;
        var cosines = Fidelity.Values.Where(f => f is not null).Select(f => f!.MinDenseCosine).ToList();
        return new()
        {
            ["fp32_vs_ort_export"] = Round(Ratio(EngineWorker.OursFp32, EngineWorker.OrtExport, Encoder.Workloads.Short)),
            ["int8_vs_ort_export"] = Round(Ratio(EngineWorker.OursInt8, EngineWorker.OrtExport, Encoder.Workloads.Short)),
            ["fp32_vs_torch"] = Round(Ratio(EngineWorker.OursFp32, "torch", Encoder.Workloads.Short)),
            ["int8_vs_torch"] = Round(Ratio(EngineWorker.OursInt8, "torch", Encoder.Workloads.Short)),
            ["fp32_vs_ort_export_docs"] = Round(Ratio(EngineWorker.OursFp32, EngineWorker.OrtExport, Encoder.Workloads.Docs)),
            ["int8_vs_ort_export_docs"] = Round(Ratio(EngineWorker.OursInt8, EngineWorker.OrtExport, Encoder.Workloads.Docs)),
            // The worse of the two checkpoints: the target holds on both.
            ["int8_min_dense_cosine"] = cosines.Count == 0 ? null : Round(cosines.Min()),
        };
    }
}
