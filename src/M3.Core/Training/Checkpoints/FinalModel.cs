namespace M3.Core.Training.Checkpoints;

/// <summary>
/// Writes the trained model as the output folder itself, atomically: the model goes into a temp folder beside it,
/// whatever the folder already holds (checkpoints, logs) is moved in beside the model, and the temp folder takes its place.
/// </summary>
internal static class FinalModel
{
    public static void Write(string outputDirectory, string sourceDirectory, IReadOnlyList<TrainableTensor> parameters) =>
        AtomicDirectory.Write(outputDirectory, temp =>
        {
            TrainedModelWriter.Write(temp, sourceDirectory, parameters);
            if (!Directory.Exists(outputDirectory)) return;
            foreach (var entry in Directory.EnumerateFileSystemEntries(outputDirectory))
            {
                var destination = Path.Combine(temp, Path.GetFileName(entry));
                if (File.Exists(destination) || Directory.Exists(destination)) continue; // an earlier model's file: the new one wins
                if (Directory.Exists(entry)) Directory.Move(entry, destination);
                else File.Move(entry, destination);
            }
        });
}
