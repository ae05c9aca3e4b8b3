using M3.Core.Checkpoint;

namespace M3.Core.Training;

/// <summary>The engine <c>m3 train</c>, <see cref="M3Trainer"/> hosts and the benchmark run on.</summary>
internal static class GradientModels
{
    /// <summary><see cref="M3TrainingModel"/>: BGE-M3's loss and gradients on ONNX Runtime, from a checkpoint folder.</summary>
    /// <param name="threads">ONNX Runtime's intra-op threads; 0: its default (one per core).</param>
    public static IGradientModel OnnxRuntime(string checkpointDirectory, TrainingObjective objective, int threads = 0)
    {
        using var checkpoint = M3Checkpoint.Open(checkpointDirectory);
        return M3TrainingModel.Create(checkpoint, objective, threads);
    }
}
