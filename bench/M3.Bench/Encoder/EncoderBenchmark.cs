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
                ? Workloads.Documents(golden, skip: 2000, count: 8, minTokens: 300, maxTokens: 500, maxBatchTokens: 4096)
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
                Rounds = settings.EffectiveRounds,
                Checkpoint = model,
                Int8Attention = M3.Core.Onnx.NativeOps.LibraryPath != null,
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

            // The kernel table (why int8 uses DynamicQuantizeMatMul) does not change from run to run; --quick leaves its
            // ~10 s to the rounds (M3.Bench --kernels prints it alone).
            if (!settings.Quick)
            {
                log.WriteLine("measuring matrix-product kernels (fp32 ceiling, int8 choices) through ONNX Runtime ...");
                report.Kernels = Attempt(report, "kernel rates", () => MatMulCeiling.Kernels(settings.Threads)) ?? [];
            }

            var engines = new List<string> { EngineWorker.OursFp32, EngineWorker.OursInt8 };
            if (peers is not null && exportError is null) engines.Add(EngineWorker.OrtExport);
            // --quick times PyTorch on the short texts only: eager PyTorch on the documents would take most of its five minutes.
            var torchWorkloads = peers is null ? [] : settings.Quick ? workloads.Where(w => w.Name == Workloads.Short).ToArray() : workloads;
            RunRounds(report, settings, engines, peers, torchWorkloads, workloads, textsFiles, work.FullName, model, config, lengths, log);

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

    /// <summary>
    /// The timed rounds: each measures the fp32 ceiling, then every workload on every engine in turn (ours fp32, ours int8,
    /// the export, PyTorch), so that ratios compare passes a few minutes apart at most and a busy minute on a shared machine
    /// shows as one outlying round instead of moving one engine's only number. Our engines and the export each run in one
    /// worker process for the whole benchmark (one load, their own peak RSS); PyTorch's script loads in each round.
    /// </summary>
    private static void RunRounds(BenchReport report, BenchSettings settings, IReadOnlyList<string> engines, PythonPeers? peers,
        IReadOnlyList<Workload> torchWorkloads, IReadOnlyList<Workload> workloads, IReadOnlyDictionary<string, string> textsFiles,
        string workDir, string model, M3Config config, IReadOnlyDictionary<string, int[]> lengths, TextWriter log)
    {
        string[] workerArgs = [model, workDir, settings.Threads.ToString(), .. workloads.Select(w => EngineWorker.FormatWorkload(w, textsFiles[w.Name]))];
        var workers = engines.Select(e => new WorkerProcess(e, workerArgs)).ToList();
        var seconds = new Dictionary<(string Engine, string Workload), List<double>>();
        foreach (var e in engines) report.Engines[e] = new EngineResult { Engine = e };
        if (torchWorkloads.Count > 0) report.Engines["torch"] = new EngineResult { Engine = "torch" };
        try
        {
            for (var round = 1; round <= settings.EffectiveRounds; round++)
            {
                var ceiling = Attempt(report, $"round {round} ceiling", () => (double?)MatMulCeiling.Fp32Ceiling(settings.Threads));
                if (ceiling is { } c) report.CeilingRounds.Add(c);
                log.WriteLine($"round {round}/{settings.EffectiveRounds}: fp32 ceiling {ceiling:F0} GFLOP/s");
                foreach (var w in workloads)
                {
                    foreach (var worker in workers)
                    {
                        if (worker.Run(w.Name) is not { } run) continue;
                        log.WriteLine($"  {w.Name} {worker.Engine}: {run.Seconds:F1} s");
                        Record(report.Engines[worker.Engine], seconds, w.Name, run.Texts, run.Tokens, run.PaddedTokens, run.Seconds, config, lengths);
                    }
                    if (torchWorkloads.Contains(w) && report.Engines["torch"].Error is null)
                        RunTorch(peers!, report.Engines["torch"], seconds, model, settings.Threads, w, textsFiles, config, lengths, log);
                }
            }
            foreach (var worker in workers)
            {
                var result = report.Engines[worker.Engine];
                if (worker.Finish() is { } finished)
                {
                    result.LoadSeconds = finished.LoadSeconds;
                    result.PeakRssBytes = finished.PeakRssBytes;
                    result.SummaryFiles = finished.SummaryFiles;
                }
                result.Error = worker.Error;
            }
        }
        finally
        {
            foreach (var worker in workers) worker.Dispose();
        }
    }

    private static void Record(EngineResult result, Dictionary<(string, string), List<double>> seconds, string workload,
        int texts, long tokens, long paddedTokens, double passSeconds, M3Config config, IReadOnlyDictionary<string, int[]> lengths)
    {
        if (!seconds.TryGetValue((result.Engine, workload), out var rounds))
        {
            seconds[(result.Engine, workload)] = rounds = [];
            result.Workloads[workload] = new Throughput(texts, tokens, paddedTokens, rounds, ModelFlops.ForTexts(config, lengths[workload]));
        }
        rounds.Add(passSeconds);
    }

    /// <summary>One PyTorch pass; after a failure PyTorch sits out the remaining rounds, so its rounds stay aligned with ours.</summary>
    private static void RunTorch(PythonPeers peers, EngineResult result, Dictionary<(string, string), List<double>> seconds, string model,
        int threads, Workload w, IReadOnlyDictionary<string, string> textsFiles, M3Config config, IReadOnlyDictionary<string, int[]> lengths, TextWriter log)
    {
        try
        {
            // The script batches by count only; documents get fewer per batch so 16 long ones are not padded to the longest.
            var batchSize = w.MaxBatchTokens is { } budget ? Math.Max(1, budget / Math.Max(1, lengths[w.Name].Max())) : w.BatchSize;
            var run = peers.RunTorch(model, textsFiles[w.Name], threads, batchSize);
            var padded = M3.Core.Inference.BatchPlan.Create(lengths[w.Name], batchSize, null).PaddedTokens;
            log.WriteLine($"  {w.Name} torch: {run.Seconds:F1} s");
            Record(result, seconds, w.Name, run.Texts, run.Tokens, padded, run.Seconds, config, lengths);
            result.PeakRssBytes = Math.Max(result.PeakRssBytes, run.PeakRssBytes);
            result.Version = run.Version;
        }
        catch (Exception e)
        {
            result.Error = e.Message;
        }
    }

    private static Fidelity? FullSizeFidelity(BenchReport report, IReadOnlyList<Workload> workloads)
    {
        if (!report.Engines.TryGetValue(EngineWorker.OursFp32, out var fp32) || !report.Engines.TryGetValue(EngineWorker.OursInt8, out var int8)) return null;
        if (fp32.Error is not null || int8.Error is not null) return null;
        var summaries = workloads.Select(w => (OutputSummary.Read(fp32.SummaryFiles[w.Name]), OutputSummary.Read(int8.SummaryFiles[w.Name]))).ToList();
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

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "M3Sharp.slnx"))) return dir.FullName;
        throw new InvalidOperationException($"cannot find the repository root (M3Sharp.slnx) above {AppContext.BaseDirectory}");
    }
}
