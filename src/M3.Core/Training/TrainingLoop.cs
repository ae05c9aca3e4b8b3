using System.Diagnostics;
using M3.Core.Training.Data;
using M3.Core.Training.Optimization;

namespace M3.Core.Training;

/// <summary>
/// Hugging Face Trainer's loop around an <see cref="IGradientModel"/>: for each optimizer step, the next planned batch,
/// the engine's loss and gradients, clipping to the global norm, AdamW at the scheduled learning rate. Steps count
/// from 0; the engine's forward-pass counter is the step (one forward pass per step).
/// </summary>
internal sealed class TrainingLoop
{
    private readonly IGradientModel _model;
    private readonly EpochPlanner _planner;
    private readonly BatchBuilder _builder;
    private readonly TrainerOptions _options;
    private (int Epoch, IReadOnlyList<SampledGroup[]> Batches)? _plan;

    public TrainingLoop(IGradientModel model, IReadOnlyList<TrainingExample> examples, BatchBuilder builder, TrainerOptions options)
    {
        options.Validate();
        _model = model;
        _builder = builder;
        _options = options;
        _planner = new EpochPlanner(examples, options.BatchSize, options.GroupSize, options.Shuffle, options.Seed, builder.TokenCount);
        TotalSteps = options.MaxSteps ?? (int)Math.Ceiling(options.Epochs * _planner.BatchesPerEpoch);
        Schedule = new LinearWarmupSchedule(options.LearningRate,
            LinearWarmupSchedule.ResolveWarmupSteps(options.WarmupSteps, options.WarmupRatio, TotalSteps), TotalSteps);
        Optimizer = new AdamW(model.Parameters, new AdamWSettings { WeightDecay = options.WeightDecay });
    }

    public int TotalSteps { get; }

    public int BatchesPerEpoch => _planner.BatchesPerEpoch;

    public LinearWarmupSchedule Schedule { get; }

    public AdamW Optimizer { get; }

    /// <summary>Optimizer steps done, which is also the next step's index.</summary>
    public int Step => Optimizer.StepCount;

    public bool Finished => Step >= TotalSteps;

    /// <summary>The batch optimizer step <paramref name="step"/> trains on: epoch step / batches-per-epoch, cycling the data.</summary>
    public TrainingBatch BatchFor(int step)
    {
        var epoch = step / BatchesPerEpoch;
        if (_plan?.Epoch != epoch) _plan = (epoch, _planner.Plan(epoch));
        return _builder.Build(_plan.Value.Batches[step % BatchesPerEpoch]);
    }

    /// <summary>Runs the next optimizer step.</summary>
    public TrainingStepReport RunStep(CancellationToken cancellationToken = default)
    {
        if (Finished) throw new InvalidOperationException($"training is finished ({TotalSteps} steps)");
        var step = Step;
        var total = Stopwatch.StartNew();
        var batch = BatchFor(step);
        var loss = _model.ComputeGradients(batch, step, cancellationToken);
        var gradientSeconds = total.Elapsed.TotalSeconds;
        if (!double.IsFinite(loss.Total))
            throw new InvalidOperationException($"step {step}: the loss is {loss.Total}; lower --lr or check the data");
        var norm = GradientClipping.GlobalNorm(_model.Parameters);
        if (_options.MaxGradNorm > 0) GradientClipping.Clip(_model.Parameters, norm, _options.MaxGradNorm);
        var lr = Schedule.LearningRate(step);
        Optimizer.Step(lr);
        var seconds = total.Elapsed.TotalSeconds;
        return new TrainingStepReport(step, TotalSteps, lr, loss.Total, loss.Dense, loss.Sparse, loss.Colbert, loss.Ensemble, loss.Distill,
            norm, batch.TokenCount, BatchBuilder.PaddedTokenCount(batch), seconds, gradientSeconds, seconds - gradientSeconds);
    }
}
