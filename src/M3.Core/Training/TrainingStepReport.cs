namespace M3.Core.Training;

/// <summary>What one optimizer step did: <see cref="Step"/> counts from 0 (the schedule's k; the golden's step index).</summary>
/// <param name="GradientNorm">Global gradient norm before clipping.</param>
/// <param name="Tokens">Real tokens of the batch; <paramref name="PaddedTokens"/> what padding each text to its kind's longest would make.</param>
/// <param name="GradientSeconds">Forward and backward (the engine); <paramref name="OptimizerSeconds"/> clipping and AdamW.</param>
internal sealed record TrainingStepReport(
    int Step,
    int TotalSteps,
    double LearningRate,
    double Loss,
    double LossDense,
    double? LossSparse,
    double? LossColbert,
    double? LossEnsemble,
    double? LossDistill,
    double GradientNorm,
    long Tokens,
    long PaddedTokens,
    double Seconds,
    double GradientSeconds,
    double OptimizerSeconds);
