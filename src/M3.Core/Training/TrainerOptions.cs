namespace M3.Core.Training;

/// <summary>
/// The training loop's settings: FlagEmbedding's data arguments and Hugging Face Trainer's optimizer and schedule
/// arguments, with their defaults (Trainer's; the learning rate is FlagEmbedding's BGE-M3 example).
/// </summary>
internal sealed record TrainerOptions
{
    /// <summary>Queries per optimizer step (per_device_train_batch_size); each brings <see cref="GroupSize"/> passages.</summary>
    public int BatchSize { get; init; } = 8;

    /// <summary>Passages per query: one positive and GroupSize−1 negatives (train_group_size).</summary>
    public int GroupSize { get; init; } = 8;

    public int QueryMaxLength { get; init; } = 32;
    public int PassageMaxLength { get; init; } = 128;

    /// <summary>False: examples in file order, pos[0] and the first negatives in listed order (reproducible checks).</summary>
    public bool Shuffle { get; init; } = true;

    public int Seed { get; init; } = 42;
    public double LearningRate { get; init; } = 1e-5;
    public double WeightDecay { get; init; }

    /// <summary>Global gradient-norm bound; 0 turns clipping off (the norm is still reported).</summary>
    public double MaxGradNorm { get; init; } = 1.0;

    /// <summary>Passes over the data; may be fractional (the step count is rounded up).</summary>
    public double Epochs { get; init; } = 3;

    /// <summary>When set, the run (and the schedule) is exactly this many optimizer steps, cycling the data as needed.</summary>
    public int? MaxSteps { get; init; }

    /// <summary>Warmup steps; when not set, ⌈total·<see cref="WarmupRatio"/>⌉.</summary>
    public int? WarmupSteps { get; init; }

    public double WarmupRatio { get; init; }

    /// <summary>Write a resumable checkpoint every this many optimizer steps (0: none).</summary>
    public int SaveSteps { get; init; }

    public void Validate()
    {
        Positive(BatchSize, "batch size");
        Positive(GroupSize, "group size");
        if (QueryMaxLength < 2 || PassageMaxLength < 2) throw new ArgumentException("query and passage max lengths must be at least 2 (<s> and </s>)");
        if (LearningRate < 0) throw new ArgumentException($"learning rate must be ≥ 0, got {LearningRate}");
        if (WeightDecay < 0) throw new ArgumentException($"weight decay must be ≥ 0, got {WeightDecay}");
        if (MaxGradNorm < 0) throw new ArgumentException($"max grad norm must be ≥ 0, got {MaxGradNorm}");
        if (MaxSteps is { } m) Positive(m, "max steps");
        else if (!(Epochs > 0)) throw new ArgumentException($"epochs must be > 0, got {Epochs}");
        if (WarmupSteps is < 0) throw new ArgumentException($"warmup steps must be ≥ 0, got {WarmupSteps}");
        if (WarmupRatio is < 0 or > 1) throw new ArgumentException($"warmup ratio must be in [0, 1], got {WarmupRatio}");
        if (SaveSteps < 0) throw new ArgumentException($"save steps must be ≥ 0, got {SaveSteps}");
    }

    private static void Positive(int value, string what)
    {
        if (value <= 0) throw new ArgumentException($"{what} must be > 0, got {value}");
    }
}
