namespace M3.Core.Training.Optimization;

/// <summary>
/// transformers' <c>get_linear_schedule_with_warmup</c>: optimizer step k (from 0) uses lr·k/warmup while k &lt; warmup,
/// then lr·(total−k)/(total−warmup), never below 0. Step 0 with warmup therefore runs at lr 0.
/// </summary>
internal sealed record LinearWarmupSchedule(double PeakLearningRate, int WarmupSteps, int TotalSteps)
{
    /// <summary>transformers' <c>get_warmup_steps</c>: explicit steps win, else ⌈total·ratio⌉.</summary>
    public static int ResolveWarmupSteps(int? warmupSteps, double warmupRatio, int totalSteps) =>
        warmupSteps is > 0 ? warmupSteps.Value : (int)Math.Ceiling(totalSteps * warmupRatio);

    public double LearningRate(int step)
    {
        var factor = step < WarmupSteps
            ? (double)step / Math.Max(1, WarmupSteps)
            : Math.Max(0.0, (double)(TotalSteps - step) / Math.Max(1, TotalSteps - WarmupSteps));
        return PeakLearningRate * factor;
    }
}
