namespace M3.Core.Training;

/// <summary>The engine <c>m3 train</c>, <see cref="M3Trainer"/> hosts and the benchmark run on.</summary>
internal static class GradientModels
{
    public static IGradientModel OnnxRuntime(string checkpointDirectory, TrainingObjective objective) =>
        throw new NotSupportedException("the ONNX Runtime training engine is not part of this build yet");
}
