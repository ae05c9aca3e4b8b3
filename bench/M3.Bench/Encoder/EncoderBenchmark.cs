using System.Diagnostics;
using System.Text.Json;
using M3.Core.Checkpoint;
using M3.Tokenization;

namespace M3.Bench.Encoder;

/// <summary>
/// The encoder benchmark: our encoder (fp32, int8) against the plain ONNX export on ONNX Runtime and PyTorch eager, on a
/// full-size random BGE-M3 checkpoint, two workloads, same texts, threads and (for the export) batches, in one run.
/// Progress goes to stderr; the table, then one JSON line, to stdout.
/// </summary>
public static class EncoderBenchmark
{
    public static int Run(BenchSettings settings)
    {
        var log = Console.Error;
        var root = RepositoryRoot();
        var fixture = Path.Combine(root, "tests", "fixtures", "tiny-m3");
        var model = RandomCheckpoint.Ensure(settings.CacheRoot, fixture, settings.Seed, log);
        var config = M3Config.Load(model);

        var golden = Workloads.ReadGolden(Path.Combine(fixture, "tokenizer_golden.jsonl"));
        var workloads = new[]
        {
            Workloads.ShortTexts(golden, settings.ShortTexts),
            settings.Quick
                ? Workloads.Documents(golden, skip: 2000, count: 24, minTokens: 300, maxTokens: 500, maxBatchTokens: 4096)
                : Workloads.Documents(golden, skip: 2000, count: 24, minTokens: 300, maxTokens: 2000, maxBatchTokens: 4096),
        };
        var work = Directory.CreateTempSubdirectory("m3-bench-");
        try
        {
            var textsFiles = workloads.ToDictionary(w => w.Name, w =>
            {
                var path = Path.Combine(work.FullName, w.Name + ".txt");
                w.WriteTextsFile(path);
                return path;
            });
            var lengths = TokenLengths(model, workloads);
            var report = new BenchReport
            {
                Machine = MachineDescription.Current(settings.Threads),
                Quick = settings.Quick,
                Repeats = settings.EffectiveRepeats,
                Checkpoint = model,
                Workloads = workloads.ToDictionary(w => w.Name, w => new WorkloadInfo(w.Texts.Count, lengths[w.Name].Sum(), lengths[w.Name].Min(), lengths[w.Name].Max(), w.BatchSize, w.MaxBatchTokens)),
            };

            string? whyNot = "--skip-peers";
            var peers = settings.SkipPeers ? null : PythonPeers.Locate(root, out whyNot);
            if (peers is null) report.Notes.Add("peers skipped: " + whyNot);
            string? exportError = null;
            if (peers is not null)
            {
                try { peers.EnsureExport(model, log); }
                catch (Exception e) { exportError = e.Message; report.Notes.Add("plain export failed: " + e.Message); }
            }

            log.WriteLine("measuring matrix-product kernels (fp32 ceiling, int8 choices) through ONNX Runtime ...");
            report.Kernels = Attempt(report, "kernel rates", () => MatMulCeiling.Kernels(settings.Threads)) ?? [];
            report.CeilingGflops = report.Kernels.Count > 0 ? MatMulCeiling.Ceiling(report.Kernels) : null;

            var engines = new List<string> { EngineWorker.OursFp32, EngineWorker.OursInt8 };
            if (peers is not null && exportError is null) engines.Add(EngineWorker.OrtExport);
            foreach (var engine in engines)
            {
                log.WriteLine($"running {engine} ...");
                report.Engines[engine] = RunWorker(engine, model, work.FullName, settings, workloads, textsFiles, config, lengths);
            }
            if (peers is not null)
            {
                // --quick times PyTorch on the short texts only: its one JSON line compares with PyTorch there alone, and eager
                // PyTorch on the documents would take half of the five minutes by itself.
                var torchWorkloads = settings.Quick ? workloads.Where(w => w.Name == Workloads.Short).ToArray() : workloads;
                log.WriteLine($"running PyTorch eager ({string.Join(", ", torchWorkloads.Select(w => w.Name))}) ...");
                report.Engines["torch"] = RunTorch(peers, model, settings.Threads, torchWorkloads, textsFiles, config, lengths);
            }

            log.WriteLine("comparing int8 with fp32 ...");
            report.Fidelity["tiny"] = Attempt(report, "tiny fidelity", () => TinyFidelity.Measure(fixture, settings.Threads));
            report.Fidelity["full"] = Attempt(report, "full-size fidelity", () => FullSizeFidelity(report, workloads));

            report.Complete();
            var json = settings.JsonPath ?? Path.Combine(root, "bench", "results", $"encoder-{DateTime.UtcNow:yyyy-MM-dd}{(settings.Quick ? "-quick" : "")}.json");
            Directory.CreateDirectory(Path.GetDirectoryName(json)!);
            var temp = json + ".tmp";
            File.WriteAllText(temp, JsonSerializer.Serialize(report, BenchReport.JsonOptions));
            File.Move(temp, json, overwrite: true);
            BenchTable.Print(report);
            Console.WriteLine($"full report: {json}");
            Console.WriteLine(JsonSerializer.Serialize(report.Summary()));
            return 0;
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    private static Dictionary<string, int[]> TokenLengths(string model, IEnumerable<Workload> workloads)
    {
        var tokenizer = XlmRobertaTokenizer.Load(model);
        return workloads.ToDictionary(w => w.Name, w => w.Texts.Select(t => tokenizer.Encode(t, XlmRobertaTokenizer.DefaultMaxLength).Ids.Length).ToArray());
    }

    private static EngineResult RunWorker(string engine, string model, string workDir, BenchSettings settings, IReadOnlyList<Workload> workloads,
        IReadOnlyDictionary<string, string> textsFiles, M3Config config, IReadOnlyDictionary<string, int[]> lengths)
    {
        var (file, prefix) = SelfCommand();
        string[] args = [.. prefix, "--worker", engine, model, workDir, settings.Threads.ToString(), settings.EffectiveRepeats.ToString(), .. workloads.Select(w => EngineWorker.FormatWorkload(w, textsFiles[w.Name]))];
        var run = PythonPeers.RunProcess(file, args, TimeSpan.FromMinutes(60));
        var last = run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault();
        if (run.ExitCode != 0 || last is null)
            return EngineResult.Failed(engine, FirstErrorLine(run.Error));
        var worker = JsonSerializer.Deserialize<EngineReport>(last)!;
        var result = new EngineResult { Engine = engine, LoadSeconds = worker.LoadSeconds, PeakRssBytes = worker.PeakRssBytes };
        foreach (var r in worker.Runs)
            result.Workloads[r.Workload] = new Throughput(r.Texts, r.Tokens, r.PaddedTokens, r.Seconds, ModelFlops.ForTexts(config, lengths[r.Workload])) { SummaryFile = r.SummaryFile };
        return result;
    }

    private static EngineResult RunTorch(PythonPeers peers, string model, int threads, IReadOnlyList<Workload> workloads,
        IReadOnlyDictionary<string, string> textsFiles, M3Config config, IReadOnlyDictionary<string, int[]> lengths)
    {
        var result = new EngineResult { Engine = "torch" };
        foreach (var w in workloads)
        {
            try
            {
                // The script batches by count only; documents get fewer per batch so 16 long ones are not padded to the longest.
                var batchSize = w.MaxBatchTokens is { } budget ? Math.Max(1, budget / Math.Max(1, lengths[w.Name].Max())) : w.BatchSize;
                var run = peers.RunTorch(model, textsFiles[w.Name], threads, batchSize);
                var padded = M3.Core.Encoding.BatchPlan.Create(lengths[w.Name], batchSize, null).PaddedTokens;
                result.Workloads[w.Name] = new Throughput(run.Texts, run.Tokens, padded, run.Seconds, ModelFlops.ForTexts(config, lengths[w.Name]));
                result.PeakRssBytes = Math.Max(result.PeakRssBytes, run.PeakRssBytes);
                result.Version = run.Version;
            }
            catch (Exception e)
            {
                result.Error = e.Message;
            }
        }
        return result;
    }

    private static Fidelity? FullSizeFidelity(BenchReport report, IReadOnlyList<Workload> workloads)
    {
        if (!report.Engines.TryGetValue(EngineWorker.OursFp32, out var fp32) || !report.Engines.TryGetValue(EngineWorker.OursInt8, out var int8)) return null;
        if (fp32.Error is not null || int8.Error is not null) return null;
        var summaries = workloads.Select(w => (OutputSummary.Read(fp32.Workloads[w.Name].SummaryFile!), OutputSummary.Read(int8.Workloads[w.Name].SummaryFile!))).ToList();
        var reference = new OutputSummary([.. summaries.SelectMany(s => s.Item1.Dense)], [.. summaries.SelectMany(s => s.Item1.Sparse)], [.. summaries.SelectMany(s => s.Item1.ColbertNextScores)]);
        var other = new OutputSummary([.. summaries.SelectMany(s => s.Item2.Dense)], [.. summaries.SelectMany(s => s.Item2.Sparse)], [.. summaries.SelectMany(s => s.Item2.ColbertNextScores)]);
        return Fidelity.Compare(reference, other);
    }

    private static T? Attempt<T>(BenchReport report, string what, Func<T?> measure)
    {
        try { return measure(); }
        catch (Exception e)
        {
            report.Notes.Add($"{what} failed: {e.GetType().Name}: {e.Message}");
            return default;
        }
    }

    private static string FirstErrorLine(string stderr) =>
        stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .FirstOrDefault(l => l.StartsWith("Unhandled exception", StringComparison.Ordinal) || l.Contains("Exception:", StringComparison.Ordinal))
        ?? stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? "worker failed without output";

    /// <summary>How to start this benchmark again as a worker: the apphost directly, or dotnet with the entry assembly.</summary>
    /// <summary>How to start this benchmark again as a worker process: the apphost, or dotnet with this assembly.</summary>
    internal static (string File, string[] Prefix) SelfCommand()
    {
        var process = Environment.ProcessPath ?? throw new InvalidOperationException("cannot locate the running executable");
        return Path.GetFileNameWithoutExtension(process) == "dotnet"
            ? (process, [typeof(EncoderBenchmark).Assembly.Location])
            : (process, []);
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "M3Sharp.slnx"))) return dir.FullName;
        throw new InvalidOperationException($"cannot find the repository root (M3Sharp.slnx) above {AppContext.BaseDirectory}");
    }
}
