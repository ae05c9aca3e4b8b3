using System.Globalization;
using M3.Core.Checkpoint;
using M3.Core.Training.Optimization;

namespace M3.Core.Training.Checkpoints;

/// <summary>
/// A resumable checkpoint, <c>OUT/checkpoint-STEP/</c>: the model in BGE-M3's layout (loadable like any checkpoint),
/// AdamW's moments (<c>optimizer.safetensors</c>: <c>exp_avg/NAME</c>, <c>exp_avg_sq/NAME</c>) and
/// <see cref="TrainerState"/>. The data order needs no saved state: it is a function of the seed and the step.
/// </summary>
internal static class TrainingCheckpoint
{
    public const string OptimizerFileName = "optimizer.safetensors";
    private const string Prefix = "checkpoint-";

    /// <summary>Writes <c>checkpoint-STEP</c> under <paramref name="outputDirectory"/> through a temp folder renamed into place.</summary>
    public static string Save(string outputDirectory, string sourceDirectory, IReadOnlyList<TrainableTensor> parameters, AdamW optimizer, TrainerState state)
    {
        var target = Path.Combine(outputDirectory, Prefix + state.Step.ToString(CultureInfo.InvariantCulture));
        AtomicDirectory.Write(target, temp =>
        {
            TrainedModelWriter.Write(temp, sourceDirectory, parameters);
            var moments = optimizer.Moments.ToList();
            var layout = moments.SelectMany(m => new[]
            {
                new TensorInfo("exp_avg/" + m.Tensor.Name, m.Tensor.Shape, TensorDType.F32),
                new TensorInfo("exp_avg_sq/" + m.Tensor.Name, m.Tensor.Shape, TensorDType.F32),
            }).ToList();
            var buffers = moments.SelectMany(m => new[] { ("exp_avg/" + m.Tensor.Name, m.ExpAvg), ("exp_avg_sq/" + m.Tensor.Name, m.ExpAvgSq) })
                .ToDictionary(p => p.Item1, p => p.Item2, StringComparer.Ordinal);
            SafetensorsWriter.Write(Path.Combine(temp, OptimizerFileName), layout, (info, destination) => buffers[info.Name].CopyTo(destination));
            state.Write(temp);
        });
        return target;
    }

    /// <summary>The checkpoint with the highest step under <paramref name="outputDirectory"/>, or null when there is none.</summary>
    public static string? Latest(string outputDirectory)
    {
        return Directory.Exists(outputDirectory) ? NewestFirst(outputDirectory).FirstOrDefault(d => File.Exists(Path.Combine(d, TrainerState.FileName))) : null;
    }

    /// <summary>Loads the moments and step count saved in <paramref name="checkpointDirectory"/> into <paramref name="optimizer"/>.</summary>
    public static void RestoreOptimizer(string checkpointDirectory, AdamW optimizer, int step)
    {
        using var file = SafetensorsFile.Open(Path.Combine(checkpointDirectory, OptimizerFileName));
        optimizer.Restore(step, (tensor, expAvg, expAvgSq) =>
        {
            file.ReadInto("exp_avg/" + tensor.Name, expAvg);
            file.ReadInto("exp_avg_sq/" + tensor.Name, expAvgSq);
        });
    }

    /// <summary>Deletes all but the newest <paramref name="keep"/> checkpoints (Trainer's save_total_limit).</summary>
    public static void Prune(string outputDirectory, int keep)
    {
        foreach (var dir in NewestFirst(outputDirectory).Skip(keep)) Directory.Delete(dir, recursive: true);
    }

    private static IEnumerable<string> NewestFirst(string outputDirectory) =>
        Directory.EnumerateDirectories(outputDirectory, Prefix + "*")
            .Select(d => (Dir: d, Step: int.TryParse(Path.GetFileName(d)[Prefix.Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? s : -1))
            .Where(c => c.Step >= 0)
            .OrderByDescending(c => c.Step)
            .Select(c => c.Dir);
}
