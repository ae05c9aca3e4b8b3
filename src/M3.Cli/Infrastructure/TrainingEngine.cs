using M3.Core.Training;

namespace M3.Cli.Infrastructure;

/// <summary>The engine <c>m3 train</c> runs on.</summary>
internal static class TrainingEngine
{
    public static IGradientModel Create(string checkpointDirectory, TrainingObjective objective) =>
        throw new NotSupportedException("the ONNX Runtime training engine is not part of this build yet");
}
