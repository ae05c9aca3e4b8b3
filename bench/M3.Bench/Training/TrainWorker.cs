using System.Diagnostics;
using System.Text.Json;
using M3.Bench.Encoder;
using M3.Core.Training;
using M3.Core.Training.Data;
using M3.Tokenization;

namespace M3.Bench.Training;

/// <summary>Our side of one workload, in its own process so its peak RSS is its own.</summary>
/// <param name="StepSeconds">Per optimizer step, in order; the first one warms up.</param>
public sealed record TrainWorkerReport(double LoadSeconds, double[] StepSeconds, double[] GradientSeconds, double[] OptimizerSeconds, long[] Tokens, double[] Losses, long PeakRssBytes);

/// <summary>
/// Runs <see cref="TrainingLoop"/> on the engine as <c>m3 train</c> does, with the PyTorch peer's settings (file order,
/// pos[0] and the first negatives, query/passage max 64/256, self-distillation on every step, dropout 0).
/// usage: M3.Bench train-worker MODEL DATA STEPS BATCH GROUP SUB_BATCH(0 = none) [PASS_TOKENS]; prints one JSON line.
/// </summary>
public static class TrainWorker
{
    public const string Command = "train-worker";

    public static int Run(string[] args)
    {
        var (model, data, steps, batch, group, subBatch) = (args[0], args[1], int.Parse(args[2]), int.Parse(args[3]), int.Parse(args[4]), int.Parse(args[5]));
        var passTokens = args.Length > 6 ? int.Parse(args[6]) : TrainingObjective.DefaultPassTokenBudget;
        var objective = new TrainingObjective
        {
            SelfDistill = true,
            SelfDistillStartStep = -1,
            Dropout = 0,
            SubBatchSize = subBatch > 0 ? subBatch : null,
            PassTokenBudget = passTokens,
        };
        var options = new TrainerOptions { BatchSize = batch, GroupSize = group, QueryMaxLength = 64, PassageMaxLength = 256, Shuffle = false, MaxSteps = steps };
        var load = Stopwatch.StartNew();
        var examples = TrainingDataReader.Read([data], requireScores: false);
        using var engine = GradientModels.OnnxRuntime(model, objective);
        var loop = new TrainingLoop(engine, examples, new BatchBuilder(XlmRobertaTokenizer.Load(model), examples, 64, 256, false), options);
        var loadSeconds = load.Elapsed.TotalSeconds;
        var reports = new List<TrainingStepReport>();
        while (!loop.Finished) reports.Add(loop.RunStep());
        Console.WriteLine(JsonSerializer.Serialize(new TrainWorkerReport(loadSeconds,
            reports.Select(r => r.Seconds).ToArray(), reports.Select(r => r.GradientSeconds).ToArray(), reports.Select(r => r.OptimizerSeconds).ToArray(),
            reports.Select(r => r.Tokens).ToArray(), reports.Select(r => r.Loss).ToArray(), EngineWorker.PeakRss())));
        return 0;
    }
}
