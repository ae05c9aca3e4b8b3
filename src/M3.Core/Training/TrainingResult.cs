namespace M3.Core.Training;

/// <summary>What a run did: steps (of the schedule's total), the last step's loss, throughput and the padding of its batches.</summary>
/// <param name="ResumedFromStep">The step a resumed run started at (0 for a fresh run).</param>
/// <param name="PaddedTokens">Token slots if every text were padded to the longest of its kind in its batch; 1 − Tokens/PaddedTokens is the padding.</param>
internal sealed record TrainingResult(
    int Steps,
    int TotalSteps,
    int ResumedFromStep,
    double? FinalLoss,
    long Tokens,
    long PaddedTokens,
    double Seconds,
    string OutputDirectory)
{
    public double TokensPerSecond => Seconds > 0 ? Tokens / Seconds : 0;

    public double PaddingFraction => PaddedTokens > 0 ? 1 - (double)Tokens / PaddedTokens : 0;
}
