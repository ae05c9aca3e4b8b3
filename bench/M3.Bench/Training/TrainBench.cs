using System.Text.Json;
using System.Text.Json.Nodes;
using M3.Bench.Encoder;
using M3.Tokenization;

namespace M3.Bench.Training;

/// <summary>
/// Fine-tuning cost on the full-size random checkpoint: unified loss with self-distillation, B = 2 queries × G = 8
/// passages, ours (each workload in its own process) against the PyTorch peer on the same batches in the same run.
/// Workloads: short (debian-l10n train examples as they are) and long (passages of 256 tokens; also with sub-batches).
/// Prints a table and, last, one JSON line. <c>--quick</c> runs 2 steps of the short workload and 1 of the long one (that
/// step includes the warm-up: session builds, memory paged in for the first time), and the long one with sub-batches only
/// when <c>--sub-batch-size</c> is given, so that it ends within five minutes.
/// usage: train [--quick] [--steps N] [--long-steps N] [--sub-batch-size N] [--no-torch] [--torch-long]
/// --torch-long also runs PyTorch on the long workload (it needed more than this machine's 24 GB when measured; run it alone).
/// </summary>
public static class TrainBench
{
    private const int Batch = 2, Group = 8;

    public static int Run(string[] args)
    {
        var quick = args.Contains("--quick");
        var steps = Args.Int(args, "--steps", quick ? 2 : 4);
        var longSteps = Args.Int(args, "--long-steps", quick ? 1 : steps);
        var total = System.Diagnostics.Stopwatch.StartNew();
        var wall = new JsonObject();
        var subBatch = Args.Int(args, "--sub-batch-size", 4);
        var runSubBatch = !quick || args.Contains("--sub-batch-size");
        var root = Args.RepoRoot();
        var fixture = Path.Combine(root, "tests", "fixtures", "tiny-m3");
        var train = Path.GetFullPath(Path.Combine(root, "..", "shared", "data", "debian-l10n", "train.jsonl"));
        var model = RandomCheckpoint.Ensure(RandomCheckpoint.DefaultCacheRoot, fixture, 1234, Console.Out);
        var work = Directory.CreateTempSubdirectory("m3-train-bench").FullName;
        try
        {
            var shortFile = TrainWorkloads.WriteShort(train, steps * Batch, work);
            var longFile = TrainWorkloads.WriteLong(train, longSteps * Batch, Group, XlmRobertaTokenizer.Load(model), work);
            wall["setup"] = Seconds(total);

            T Timed<T>(string name, Func<T> run)
            {
                var clock = System.Diagnostics.Stopwatch.StartNew();
                var result = run();
                wall[name] = Seconds(clock);
                return result;
            }
            var ours = new Dictionary<string, TrainWorkerReport>
            {
                ["short"] = Timed("short", () => Worker(model, shortFile, steps, 0)),
                ["long"] = Timed("long", () => Worker(model, longFile, longSteps, 0)),
            };
            var subBatchName = $"long, sub-batch {subBatch}";
            if (runSubBatch) ours[subBatchName] = Timed("long_sub_batch", () => Worker(model, longFile, longSteps, subBatch));
            string? whyNot = "--no-torch";
            var peers = args.Contains("--no-torch") ? null : PythonPeers.Locate(root, out whyNot);
            var torchNote = whyNot;
            var threads = Environment.ProcessorCount.ToString();
            var torchShort = Timed("torch_short", () => peers?.RunTorchTrain(model, shortFile, Environment.ProcessorCount, steps, Batch, Group, ["--query-max-len", "64", "--passage-max-len", "256"]))
                ?? new TrainPeerRun(0, 0, 0, $"not run: {torchNote}");
            var torchLong = peers != null && args.Contains("--torch-long")
                ? Timed("torch_long", () => peers.RunTorchTrain(model, longFile, Environment.ProcessorCount, longSteps, Batch, Group, ["--query-max-len", "64", "--passage-max-len", "256"]))
                : new TrainPeerRun(0, 0, 0, peers == null ? $"not run: {torchNote}" : "not run (pass --torch-long; it needed more than 24 GB when measured)");

            Console.WriteLine($"fine-tuning, full-size random BGE-M3, B={Batch} x G={Group}, self-distillation, {threads} threads; seconds per step: median of the steps after the first");
            Console.WriteLine($"short: {steps} steps; long: {longSteps} step(s){(longSteps == 1 ? ", so its time includes the warm-up (session builds, memory paged in for the first time)" : "")}");
            Console.WriteLine($"{"engine / workload",-34} {"s/step",8} {"fwd+bwd",8} {"optim",7} {"tokens",7} {"tok/s",7} {"peak RSS",10}");
            foreach (var (name, r) in ours)
                Console.WriteLine($"{"ours, " + name,-34} {Median(r.StepSeconds),8:F2} {Median(r.GradientSeconds),8:F2} {Median(r.OptimizerSeconds),7:F2} {r.Tokens[^1],7} {r.Tokens[^1] / Median(r.StepSeconds),7:F0} {Gib(r.PeakRssBytes),10}");
            foreach (var (name, r) in new[] { ("short", torchShort), ("long", torchLong) })
                Console.WriteLine(r.Status == "ok"
                    ? $"{"pytorch eager, " + name,-34} {r.SecondsPerStep,8:F2} {"",8} {"",7} {r.TokensPerStep,7} {r.TokensPerStep / r.SecondsPerStep,7:F0} {Gib(r.PeakRssBytes),10}"
                    : $"{"pytorch eager, " + name,-34} {r.Status}");

            var shortSeconds = Median(ours["short"].StepSeconds);
            var json = new JsonObject
            {
                ["train_seconds_per_step"] = Math.Round(shortSeconds, 3),
                ["train_long_seconds_per_step"] = Math.Round(Median(ours["long"].StepSeconds), 3),
                ["train_long_peak_rss_bytes"] = ours["long"].PeakRssBytes,
                ["train_long_sub_batch_peak_rss_bytes"] = runSubBatch ? ours[subBatchName].PeakRssBytes : null,
                ["train_peak_rss_bytes"] = ours["short"].PeakRssBytes,
                ["train_vs_torch"] = torchShort.Status == "ok" ? Math.Round(torchShort.SecondsPerStep / shortSeconds, 3) : null,
                ["train_peak_rss_vs_torch"] = torchShort.Status == "ok" ? Math.Round((double)ours["short"].PeakRssBytes / torchShort.PeakRssBytes, 3) : null,
                ["torch_seconds_per_step"] = torchShort.Status == "ok" ? Math.Round(torchShort.SecondsPerStep, 3) : null,
                ["torch_status"] = torchShort.Status,
                ["torch_long_status"] = torchLong.Status,
                ["steps"] = steps,
                ["long_steps"] = longSteps,
                ["wall_seconds"] = wall,
            };
            wall["total"] = Seconds(total);
            Console.WriteLine(json.ToJsonString());
            return 0;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static TrainWorkerReport Worker(string model, string data, int steps, int subBatch)
    {
        var (file, prefix) = WorkerProcess.SelfCommand();
        var run = PythonPeers.RunProcess(file, [.. prefix, TrainWorker.Command, model, data, steps.ToString(), Batch.ToString(), Group.ToString(), subBatch.ToString()],
            TimeSpan.FromMinutes(60));
        if (run.ExitCode != 0) throw new InvalidOperationException($"train worker failed (exit {run.ExitCode}): {run.Error.Trim().Split('\n').LastOrDefault()}");
        var last = run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last();
        return JsonSerializer.Deserialize<TrainWorkerReport>(last)!;
    }

    private static double Median(double[] values)
    {
        var rest = values.Length > 1 ? values[1..] : values;
        var sorted = rest.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static double Seconds(System.Diagnostics.Stopwatch clock) => Math.Round(clock.Elapsed.TotalSeconds, 1);

    private static string Gib(long bytes) => bytes > 0 ? $"{bytes / (1024.0 * 1024 * 1024):F2} GiB" : "-";
}
