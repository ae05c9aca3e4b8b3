using System.Diagnostics;
using M3.Core.Training.Checkpoints;
using M3.Core.Training.Data;
using M3.Tokenization;

namespace M3.Core.Training;

/// <summary>
/// Fine-tunes a BGE-M3 checkpoint as FlagEmbedding's <c>encoder_only.m3</c> runner does under Hugging Face Trainer:
/// reads the data, builds the engine, runs <see cref="TrainingLoop"/>, writes <c>checkpoint-STEP</c> folders every
/// <see cref="TrainerOptions.SaveSteps"/> and the trained model in BGE-M3's layout. Cancellation is checked between
/// steps and inside the engine; a cancelled run keeps its last checkpoint for <see cref="TrainingRun.Resume"/>.
/// </summary>
internal sealed class M3Trainer(GradientModelFactory engine)
{
    /// <summary>Trains; reports every optimizer step on <paramref name="progress"/> (synchronously, on the training thread).</summary>
    public TrainingResult Train(TrainingRun run, IProgress<TrainingStepReport>? progress = null, CancellationToken cancellationToken = default)
    {
        var output = Path.GetFullPath(run.OutputDirectory);
        var examples = TrainingDataReader.Read(run.DataPaths, run.Objective.TeacherScores);
        var resumeFrom = run.Resume ? TrainingCheckpoint.Latest(output)
            ?? throw new InvalidOperationException($"--resume: no checkpoint-STEP folder with {TrainerState.FileName} in '{output}'; run without --resume to start") : null;
        if (!run.Resume) PrepareOutput(output, run.Overwrite);
        var source = resumeFrom ?? run.ModelDirectory;

        using var model = engine(source, run.Objective);
        var loop = new TrainingLoop(model, examples, Builder(source, examples, run), run.Options);
        var state = new TrainerState(0, loop.TotalSteps, run.Options.Seed, run.Options.BatchSize, run.Options.GroupSize, run.Options.Shuffle, examples.Count);
        if (resumeFrom != null)
        {
            var saved = TrainerState.Read(resumeFrom);
            saved.CheckResumable(state, resumeFrom);
            TrainingCheckpoint.RestoreOptimizer(resumeFrom, loop.Optimizer, saved.Step);
        }
        var startStep = loop.Step;
        var clock = Stopwatch.StartNew();
        long tokens = 0, padded = 0;
        TrainingStepReport? last = null;
        while (!loop.Finished)
        {
            cancellationToken.ThrowIfCancellationRequested();
            last = loop.RunStep(cancellationToken);
            tokens += last.Tokens;
            padded += last.PaddedTokens;
            progress?.Report(last);
            if (run.Options.SaveSteps > 0 && loop.Step % run.Options.SaveSteps == 0 && !loop.Finished)
            {
                TrainingCheckpoint.Save(output, source, model.Parameters, loop.Optimizer, state with { Step = loop.Step });
                if (run.SaveTotalLimit is { } keep) TrainingCheckpoint.Prune(output, keep);
            }
        }
        FinalModel.Write(output, source, model.Parameters);
        return new TrainingResult(loop.Step, loop.TotalSteps, startStep, last?.Loss, tokens, padded, clock.Elapsed.TotalSeconds, output);
    }

    /// <summary>The loss and gradients of the first batch (no update), written as <see cref="GradientDump"/> describes.</summary>
    public LossParts GradientsOnly(TrainingRun run, string prefix, CancellationToken cancellationToken = default)
    {
        var examples = TrainingDataReader.Read(run.DataPaths, run.Objective.TeacherScores);
        using var model = engine(run.ModelDirectory, run.Objective);
        var loop = new TrainingLoop(model, examples, Builder(run.ModelDirectory, examples, run), run.Options);
        var loss = model.ComputeGradients(loop.BatchFor(0), 0, cancellationToken);
        GradientDump.Write(prefix, loss, model.Parameters);
        return loss;
    }

    private static BatchBuilder Builder(string modelDirectory, IReadOnlyList<TrainingExample> examples, TrainingRun run) =>
        new(XlmRobertaTokenizer.Load(modelDirectory), examples, run.Options.QueryMaxLength, run.Options.PassageMaxLength, run.Objective.TeacherScores);

    private static void PrepareOutput(string output, bool overwrite)
    {
        if (!Directory.Exists(output) || !Directory.EnumerateFileSystemEntries(output).Any()) return;
        if (!overwrite)
            throw new InvalidOperationException($"output folder '{output}' is not empty: pass --resume to continue its run, --overwrite to replace it, or choose another folder");
        Directory.Delete(output, recursive: true);
    }
}
