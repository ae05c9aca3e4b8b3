using System.Diagnostics;
using System.Text.Json;
using M3.Core.Encoding;
using M3.Core.Representations;

namespace M3.Bench.Encoder;

/// <summary>What one engine did on one workload.</summary>
public sealed record WorkloadRun(string Workload, int Texts, long Tokens, long PaddedTokens, double Seconds, string? SummaryFile);

/// <summary>What one engine process reports: its runs, its load time and its peak resident set (VmHWM, whole process).</summary>
public sealed record EngineReport(string Engine, double LoadSeconds, long PeakRssBytes, IReadOnlyList<WorkloadRun> Runs);

/// <summary>
/// Runs one engine in its own process, so each engine's peak RSS is its own (read from /proc/self/status VmHWM at the end;
/// it includes loading, which for our engine means building or reading the cached graph). The parent starts this as
/// <c>M3.Bench --worker ENGINE MODEL OUT_DIR THREADS REPEATS [WORKLOAD=TEXTS_FILE=BATCH=BUDGET]...</c> and reads the last stdout line.
/// </summary>
public static class EngineWorker
{
    public const string Flag = "--worker";

    /// <summary>Engine names: ours at each precision, and the plain export timed on ONNX Runtime.</summary>
    public const string OursFp32 = "ours-fp32", OursInt8 = "ours-int8", OrtExport = "ort-export";

    public static int Run(string[] args)
    {
        var (engine, model, outDir, threads, repeats) = (args[0], args[1], args[2], int.Parse(args[3]), int.Parse(args[4]));
        var workloads = args[5..].Select(ParseWorkload).ToList();
        var load = Stopwatch.StartNew();
        using IEngine runner = engine switch
        {
            OursFp32 => new OursEngine(model, M3Precision.Fp32, threads),
            OursInt8 => new OursEngine(model, M3Precision.Int8, threads),
            OrtExport => new OrtExportEngine(model, Path.Combine(model, "onnx-export", "model.onnx"), threads),
            _ => throw new ArgumentException($"unknown engine '{engine}'"),
        };
        var loadSeconds = load.Elapsed.TotalSeconds;
        var runs = new List<WorkloadRun>();
        foreach (var w in workloads)
        {
            var lengths = runner.TokenCounts(w.Texts);
            var plan = BatchPlan.Create(lengths, w.BatchSize, w.MaxBatchTokens);
            runner.WarmUp(w);
            // Best of several passes: other processes share the machine, and the fastest pass is the one they disturbed least.
            IReadOnlyList<M3Embedding>? embeddings = null;
            var seconds = double.MaxValue;
            for (var pass = 0; pass < repeats; pass++)
            {
                var watch = Stopwatch.StartNew();
                embeddings = runner.Encode(w);
                seconds = Math.Min(seconds, watch.Elapsed.TotalSeconds);
            }
            string? file = null;
            if (embeddings is not null)
            {
                file = Path.Combine(outDir, $"{engine}-{w.Name}.bin");
                OutputSummary.From(embeddings).Write(file);
            }
            runs.Add(new(w.Name, w.Texts.Count, plan.RealTokens, plan.PaddedTokens, seconds, file));
        }
        Console.WriteLine(JsonSerializer.Serialize(new EngineReport(engine, loadSeconds, PeakRss(), runs)));
        return 0;
    }

    /// <summary>Encodes <see cref="Workload"/>s as the parent passes them: NAME=TEXTS_FILE=BATCH_SIZE=BUDGET (0 = none).</summary>
    public static string FormatWorkload(Workload w, string textsFile) =>
        string.Join('=', w.Name, textsFile, w.BatchSize, w.MaxBatchTokens ?? 0);

    private static Workload ParseWorkload(string arg)
    {
        var parts = arg.Split('=');
        var budget = int.Parse(parts[3]);
        return Workload.ReadTextsFile(parts[0], parts[1], int.Parse(parts[2]), budget == 0 ? null : budget);
    }

    /// <summary>The process's peak resident set so far, from the kernel (VmHWM), in bytes.</summary>
    public static long PeakRss()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                return long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0]) * 1024;
        return 0;
    }
}

/// <summary>One way of encoding a workload.</summary>
internal interface IEngine : IDisposable
{
    /// <summary>Token count of each text as this engine tokenizes it (specials included).</summary>
    int[] TokenCounts(IReadOnlyList<string> texts);

    /// <summary>One small untimed pass, so lazy initialisation is not timed.</summary>
    void WarmUp(Workload workload);

    /// <summary>Encodes all texts with all three outputs; returns them when they are compared across precisions, else null.</summary>
    IReadOnlyList<M3Embedding>? Encode(Workload workload);
}
