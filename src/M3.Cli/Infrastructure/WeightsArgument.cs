using M3.Core.Scoring;

namespace M3.Cli.Infrastructure;

/// <summary><c>--weights dense,sparse,colbert</c>, parsed once for every command that combines scores.</summary>
internal static class WeightsArgument
{
    public static HybridWeights Parse(string text)
    {
        try
        {
            return HybridWeights.Parse(text);
        }
        catch (FormatException e)
        {
            throw new CliError($"--weights: {e.Message}");
        }
    }
}
