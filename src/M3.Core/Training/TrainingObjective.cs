namespace M3.Core.Training;

/// <summary>How FlagEmbedding's <c>m3_kd_loss</c> or <c>kl_div</c> turns teacher scores into a loss.</summary>
internal enum KdLossType
{
    M3KdLoss,
    KlDiv,
}

/// <summary>
/// What the loss is: FlagEmbedding's <c>EncoderOnlyEmbedderM3Model</c> settings (unified fine-tuning, self-distillation,
/// teacher scores), plus what the engine trains (<see cref="FixEncoder"/>), dropout and sub-batching.
/// </summary>
internal sealed record TrainingObjective
{
    public float Temperature { get; init; } = 0.02f;

    /// <summary>False is FlagEmbedding's <c>unified_finetuning false</c>: the dense loss only, and the heads are not trained.</summary>
    public bool Unified { get; init; } = true;

    public bool SelfDistill { get; init; }

    /// <summary>Self-distillation applies when the forward-pass counter (from 0) is greater than this.</summary>
    public int SelfDistillStartStep { get; init; }

    /// <summary>Use the batch's teacher scores (FlagEmbedding's <c>knowledge_distillation</c>).</summary>
    public bool TeacherScores { get; init; }

    public KdLossType KdLoss { get; init; } = KdLossType.M3KdLoss;

    /// <summary>Train the two heads only; the encoder's tensors get no gradient.</summary>
    public bool FixEncoder { get; init; }

    /// <summary>Hidden and attention-probability dropout; null keeps the checkpoint config's values.</summary>
    public float? Dropout { get; init; }

    /// <summary>Seeds the dropout masks (with the forward step, so a resumed run draws the masks an uninterrupted one would).</summary>
    public int Seed { get; init; }

    /// <summary>
    /// Encode at most this many texts per forward/backward pass (GradCache, FlagEmbedding's sub-batch semantics); every
    /// pass also stays within <see cref="PassTokenBudget"/>, and with null the batch is split by that budget alone (one
    /// pass for a batch that fits). The gradients are the whole batch's either way.
    /// </summary>
    public int? SubBatchSize { get; init; }

    /// <summary>
    /// Real (packed) tokens per forward/backward pass at most; a longer text runs alone. The gradient pass' activations
    /// grow with tokens × layers, so this bounds the engine's memory whatever the batch (docs/training.md has the figures).
    /// </summary>
    public int PassTokenBudget { get; init; } = DefaultPassTokenBudget;

    /// <summary>
    /// The default <see cref="PassTokenBudget"/>: large enough that a typical batch runs in few passes, small enough that
    /// a full-size model's long batches train within 12 GB (docs/training.md, "Pass budget at full size", has the measurements).
    /// </summary>
    public const int DefaultPassTokenBudget = 2048;
}
