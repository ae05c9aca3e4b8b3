using System.Diagnostics;
using System.Text.Json;
using M3.Core.Inference;
using M3.Core.Representations;

namespace M3.Bench.Encoder;

/// <summary>One timed pass of one engine over one workload.</summary>
public sealed record WorkloadRun(string Workload, int Texts, long Tokens, long PaddedTokens, double Seconds);

/// <summary>
/// What one engine process reports when it finishes: its load time, its peak resident set (VmHWM, whole process) and,
/// per workload, the file holding a summary of its last pass's outputs (for the int8-against-fp32 comparison).
/// </summary>
public sealed record EngineReport(string Engine, double LoadSeconds, long PeakRssBytes, IReadOnlyDictionary<string, string> SummaryFiles);

/// <summary>
/// Runs one engine in its own process, kept alive across the benchmark's rounds, so each engine's peak RSS is its own (read
/// from /proc/self/status VmHWM at the end; it includes loading, which for our engine means building or reading the cached
/// graph) and it loads once. The parent starts this as <c>M3.Bench --worker ENGINE MODEL OUT_DIR THREADS
/// [WORKLOAD=TEXTS_FILE=BATCH=BUDGET]...</c> and drives it over stdin: <c>run WORKLOAD</c> times one pass (after an untimed
/// warm-up the first time) and answers one <see cref="WorkloadRun"/> line; <c>finish</c> answers the <see cref="EngineReport"/>
/// and exits. Answers start with <see cref="AnswerPrefix"/>, so nothing else a library prints to stdout is mistaken for one.
/// </summary>
public static class EngineWorker
{
    public const string Flag = "--worker";
    public const string AnswerPrefix = "m3-bench-worker: ";

    /// <summary>Engine names: ours at each precision, and the plain export timed on ONNX Runtime.</summary>
    public const string OursFp32 = "ours-fp32", OursInt8 = "ours-int8", OrtExport = "ort-export";

    public static int Run(string[] args)
    {
        var (engine, model, outDir, threads) = (args[0], args[1], args[2], int.Parse(args[3]));
        var workloads = args[4..].Select(ParseWorkload).ToDictionary(w => w.Name);
        var load = Stopwatch.StartNew();
        using IEngine runner = engine switch
        {
            OursFp32 => new OursEngine(model, M3Precision.Fp32, threads),
            OursInt8 => new OursEngine(model, M3Precision.Int8, threads),
            OrtExport => new OrtExportEngine(model, Path.Combine(model, "onnx-export", "model.onnx"), threads),
            _ => throw new ArgumentException($"unknown engine '{engine}'"),
        };
        var loadSeconds = load.Elapsed.TotalSeconds;
        var plans = new Dictionary<string, BatchPlan>();
        var last = new Dictionary<string, IReadOnlyList<M3Embedding>?>();
        while (Console.ReadLine() is { } command)
        {
            if (command == "finish") break;
            var name = command.StartsWith("run ", StringComparison.Ordinal) ? command[4..] : throw new ArgumentException($"unknown worker command '{command}'");
            var w = workloads.GetValueOrDefault(name) ?? throw new ArgumentException($"unknown workload '{name}'");
            if (!plans.TryGetValue(name, out var plan))
            {
                plans[name] = plan = BatchPlan.Create(runner.TokenCounts(w.Texts), w.BatchSize, w.MaxBatchTokens);
                runner.WarmUp(w);
            }
            var watch = Stopwatch.StartNew();
            last[name] = runner.Encode(w);
            var seconds = watch.Elapsed.TotalSeconds;
            Answer(new WorkloadRun(name, w.Texts.Count, plan.RealTokens, plan.PaddedTokens, seconds));
        }
        var files = new Dictionary<string, string>();
        foreach (var (name, embeddings) in last)
        {
            if (embeddings is null) continue;
            files[name] = Path.Combine(outDir, $"{engine}-{name}.bin");
            OutputSummary.From(embeddings).Write(files[name]);
        }
        Answer(new EngineReport(engine, loadSeconds, PeakRss(), files));
        return 0;
    }

    private static void Answer<T>(T value)
    {
        Console.WriteLine(AnswerPrefix + JsonSerializer.Serialize(value));
        Console.Out.Flush();
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
