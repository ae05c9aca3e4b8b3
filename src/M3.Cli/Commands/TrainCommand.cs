using System.CommandLine;
using System.Globalization;
using M3.Cli.Infrastructure;
using M3.Core.Training;

namespace M3.Cli.Commands;

/// <summary>
/// <c>m3 train</c>: fine-tunes BGE-M3 on FlagEmbedding-format data (unified dense + sparse + ColBERT loss, optional
/// self-distillation) and writes the model in BAAI/bge-m3's layout. A thin host over <see cref="M3Trainer"/>.
/// </summary>
public static class TrainCommand
{
    public static Command Create() => Create(null);

    /// <param name="engine">The gradient engine; null: ONNX Runtime with the command's <c>--threads</c>.</param>
    internal static Command Create(GradientModelFactory? engine)
    {
        var model = new Option<string>("--model") { Description = "Checkpoint folder or Hugging Face hub id (owner/name[@revision]) to start from", Required = true };
        var data = new Option<string[]>("--data") { Description = "FlagEmbedding JSON Lines files ({\"query\", \"pos\": [...], \"neg\": [...]}) or folders of .jsonl/.json files", Required = true, AllowMultipleArgumentsPerToken = true };
        var output = new Option<string?>("--output") { Description = "Folder for the trained model (BGE-M3's layout) and its checkpoint-STEP folders" };
        var groupSize = new Option<int>("--group-size") { Description = "Passages per query: a random positive and G-1 random negatives", DefaultValueFactory = _ => 8 };
        var batchSize = new Option<int>("--batch-size") { Description = "Queries per optimizer step (FlagEmbedding's per_device_train_batch_size)", DefaultValueFactory = _ => 8 };
        var queryMaxLen = new Option<int>("--query-max-len") { Description = "Tokens per query, <s> and </s> included", DefaultValueFactory = _ => 32 };
        var passageMaxLen = new Option<int>("--passage-max-len") { Description = "Tokens per passage, <s> and </s> included", DefaultValueFactory = _ => 128 };
        var noShuffle = new Option<bool>("--no-shuffle") { Description = "Examples in file order, pos[0] and the first G-1 negatives in order (reproducible checks)" };
        var subBatch = new Option<int?>("--sub-batch-size") { Description = "Run the encoder on at most N texts at a time (same gradients, bounded memory)" };
        var lr = new Option<double>("--lr") { Description = "Peak learning rate", DefaultValueFactory = _ => 1e-5 };
        var weightDecay = new Option<double>("--weight-decay") { Description = "AdamW weight decay (not on biases and LayerNorm weights)", DefaultValueFactory = _ => 0.0 };
        var maxGradNorm = new Option<double>("--max-grad-norm") { Description = "Clip gradients to this global norm (0: no clipping)", DefaultValueFactory = _ => 1.0 };
        var warmupRatio = new Option<double>("--warmup-ratio") { Description = "Warmup steps as a fraction of all steps", DefaultValueFactory = _ => 0.0 };
        var warmupSteps = new Option<int?>("--warmup-steps") { Description = "Warmup steps (overrides --warmup-ratio)" };
        var epochs = new Option<double>("--epochs") { Description = "Passes over the data", DefaultValueFactory = _ => 3.0 };
        var maxSteps = new Option<int?>("--max-steps") { Description = "Optimizer steps to run (overrides --epochs; the schedule spans exactly these)" };
        var seed = new Option<int>("--seed") { Description = "Seed of the data order and sampling", DefaultValueFactory = _ => 42 };
        var saveSteps = new Option<int>("--save-steps") { Description = "Write a resumable checkpoint-STEP folder every N steps (0: none)", DefaultValueFactory = _ => 0 };
        var saveTotalLimit = new Option<int?>("--save-total-limit") { Description = "Keep only the newest N checkpoints" };
        var resume = new Option<bool>("--resume") { Description = "Continue from the newest checkpoint in --output" };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace a non-empty --output folder" };
        var selfDistill = new Option<bool>("--self-distill") { Description = "Self-knowledge distillation: the ensemble score teaches dense, sparse and ColBERT" };
        var selfDistillStart = new Option<int>("--self-distill-start-step") { Description = "Self-distillation applies from the step after this one", DefaultValueFactory = _ => 0 };
        var teacherScores = new Option<bool>("--teacher-scores") { Description = "Learn from the data's pos_scores/neg_scores (FlagEmbedding's knowledge_distillation)" };
        var kdLoss = new Option<string>("--kd-loss") { Description = "Loss with teacher scores", DefaultValueFactory = _ => "m3_kd_loss" };
        kdLoss.AcceptOnlyFromAmong("m3_kd_loss", "kl_div");
        var denseOnly = new Option<bool>("--dense-only") { Description = "Train the dense embedding only (FlagEmbedding's unified_finetuning false)" };
        var fixEncoder = new Option<bool>("--fix-encoder") { Description = "Train the ColBERT and sparse heads only" };
        var temperature = new Option<float>("--temperature") { Description = "Score temperature", DefaultValueFactory = _ => 0.02f };
        var dropout = new Option<float?>("--dropout") { Description = "Hidden and attention dropout (default: the model config's)" };
        var logJson = new Option<string?>("--log-json") { Description = "Write one JSON line per optimizer step to this file" };
        var threads = new Option<int>("--threads") { Description = "ONNX Runtime intra-op threads (0: one per core), e.g. 1 to run two trainings side by side", DefaultValueFactory = _ => 0 };
        var gradientsOnly = new Option<string?>("--gradients-only") { Description = "First batch only, no update: write PREFIX.json (loss parts) and PREFIX.safetensors (gradients)" };

        var command = new Command("train", "Fine-tune BGE-M3 (dense, sparse and ColBERT together) on FlagEmbedding-format JSON Lines")
        {
            model, data, output, groupSize, batchSize, queryMaxLen, passageMaxLen, noShuffle, subBatch, lr, weightDecay, maxGradNorm,
            warmupRatio, warmupSteps, epochs, maxSteps, seed, saveSteps, saveTotalLimit, resume, overwrite, selfDistill, selfDistillStart,
            teacherScores, kdLoss, denseOnly, fixEncoder, temperature, dropout, logJson, threads, gradientsOnly,
        };
        command.SetAction((pr, ct) => CommandRunner.RunAsync(cancellationToken =>
        {
            var objective = new TrainingObjective
            {
                Temperature = pr.GetValue(temperature),
                Unified = !pr.GetValue(denseOnly),
                SelfDistill = pr.GetValue(selfDistill),
                SelfDistillStartStep = pr.GetValue(selfDistillStart),
                TeacherScores = pr.GetValue(teacherScores),
                KdLoss = pr.GetValue(kdLoss) == "kl_div" ? KdLossType.KlDiv : KdLossType.M3KdLoss,
                FixEncoder = pr.GetValue(fixEncoder),
                Dropout = pr.GetValue(dropout),
                SubBatchSize = pr.GetValue(subBatch),
            };
            var options = new TrainerOptions
            {
                BatchSize = pr.GetValue(batchSize),
                GroupSize = pr.GetValue(groupSize),
                QueryMaxLength = pr.GetValue(queryMaxLen),
                PassageMaxLength = pr.GetValue(passageMaxLen),
                Shuffle = !pr.GetValue(noShuffle),
                Seed = pr.GetValue(seed),
                LearningRate = pr.GetValue(lr),
                WeightDecay = pr.GetValue(weightDecay),
                MaxGradNorm = pr.GetValue(maxGradNorm),
                Epochs = pr.GetValue(epochs),
                MaxSteps = pr.GetValue(maxSteps),
                WarmupSteps = pr.GetValue(warmupSteps),
                WarmupRatio = pr.GetValue(warmupRatio),
                SaveSteps = pr.GetValue(saveSteps),
            };
            if (objective.SubBatchSize is <= 0) throw new CliError("--sub-batch-size must be > 0");
            if (objective.SelfDistill && !objective.Unified) throw new CliError("--self-distill needs the unified loss: drop --dense-only");
            if (objective.FixEncoder && !objective.Unified) throw new CliError("--fix-encoder trains the heads, which --dense-only leaves out: use one of them");
            var folder = ModelLocator.Resolve(pr.GetValue(model)!, cancellationToken);
            if (pr.GetValue(threads) < 0) throw new CliError("--threads must be >= 0");
            var intraOpThreads = pr.GetValue(threads);
            var trainer = new M3Trainer(engine ?? ((d, o) => GradientModels.OnnxRuntime(d, o, intraOpThreads)));
            if (pr.GetValue(gradientsOnly) is { } prefix)
            {
                var run0 = new TrainingRun(folder, pr.GetValue(data)!, "", objective, options);
                var loss = trainer.GradientsOnly(run0, prefix, cancellationToken);
                Console.Error.WriteLine($"loss {loss.Total:G9} on the first batch; wrote {prefix}.json and {prefix}.safetensors");
                return 0;
            }
            var outputDir = pr.GetValue(output) ?? throw new CliError("--output is required (or --gradients-only PREFIX)");
            var run = new TrainingRun(folder, pr.GetValue(data)!, outputDir, objective, options, pr.GetValue(resume), pr.GetValue(overwrite), pr.GetValue(saveTotalLimit));
            using var log = new TrainingLog(pr.GetValue(logJson), append: run.Resume);
            TrainingResult result;
            try
            {
                result = ProgressBar.RunWithStatus("training", 1, bar => trainer.Train(run, new StepReporter(r =>
                {
                    log.Write(r);
                    bar?.Report((r.Step + 1 == r.TotalSteps ? 1 : 0, string.Create(CultureInfo.InvariantCulture,
                        $"step {r.Step + 1}/{r.TotalSteps} loss {r.Loss:F4} lr {r.LearningRate:G3} {r.Tokens / Math.Max(r.Seconds, 1e-9):F0} tok/s")));
                }), cancellationToken));
            }
            catch (OperationCanceledException)
            {
                throw new CliError($"interrupted; rerun with --resume to continue from the newest checkpoint-STEP in {outputDir} (written every --save-steps)", 130);
            }
            JsonLineWriter.WriteLine(Console.Out, json =>
            {
                json.WriteStartObject();
                json.WriteString("output", result.OutputDirectory);
                json.WriteNumber("steps", result.Steps);
                json.WriteNumber("resumed_from_step", result.ResumedFromStep);
                if (result.FinalLoss is { } l) json.WriteNumber("final_loss", l);
                json.WriteNumber("seconds", Math.Round(result.Seconds, 3));
                json.WriteNumber("tokens", result.Tokens);
                json.WriteNumber("tokens_per_second", Math.Round(result.TokensPerSecond, 1));
                json.WriteNumber("padding", Math.Round(result.PaddingFraction, 4));
                json.WriteEndObject();
            });
            return 0;
        }, ct));
        return command;
    }

    /// <summary>Reports on the training thread, in step order.</summary>
    private sealed class StepReporter(Action<TrainingStepReport> report) : IProgress<TrainingStepReport>
    {
        public void Report(TrainingStepReport value) => report(value);
    }
}
