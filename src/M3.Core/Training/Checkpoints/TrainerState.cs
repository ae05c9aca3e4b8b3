using System.Text.Json;
using System.Text.Json.Serialization;

namespace M3.Core.Training.Checkpoints;

/// <summary>
/// <c>trainer_state.json</c> of a checkpoint: how far the run got and the settings that decide which batch comes next,
/// so that a resume with different ones is refused instead of silently training on other data.
/// </summary>
internal sealed record TrainerState(
    [property: JsonPropertyName("step")] int Step,
    [property: JsonPropertyName("total_steps")] int TotalSteps,
    [property: JsonPropertyName("seed")] int Seed,
    [property: JsonPropertyName("batch_size")] int BatchSize,
    [property: JsonPropertyName("group_size")] int GroupSize,
    [property: JsonPropertyName("shuffle")] bool Shuffle,
    [property: JsonPropertyName("examples")] int Examples)
{
    public const string FileName = "trainer_state.json";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public void Write(string directory) => File.WriteAllText(Path.Combine(directory, FileName), JsonSerializer.Serialize(this, Json));

    public static TrainerState Read(string directory)
    {
        var path = Path.Combine(directory, FileName);
        try
        {
            return JsonSerializer.Deserialize<TrainerState>(File.ReadAllText(path))
                ?? throw new InvalidDataException($"{path}: empty trainer state");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a trainer state ({e.Message}); delete this checkpoint folder or resume from another", e);
        }
    }

    /// <summary>Throws when <paramref name="current"/> would plan different batches than the run that wrote this state.</summary>
    public void CheckResumable(TrainerState current, string directory)
    {
        var differences = new List<string>();
        if (Seed != current.Seed) differences.Add($"seed {Seed} → {current.Seed}");
        if (BatchSize != current.BatchSize) differences.Add($"batch size {BatchSize} → {current.BatchSize}");
        if (GroupSize != current.GroupSize) differences.Add($"group size {GroupSize} → {current.GroupSize}");
        if (Shuffle != current.Shuffle) differences.Add($"shuffle {Shuffle} → {current.Shuffle}");
        if (Examples != current.Examples) differences.Add($"examples {Examples} → {current.Examples}");
        if (TotalSteps != current.TotalSteps) differences.Add($"total steps {TotalSteps} → {current.TotalSteps}");
        if (differences.Count > 0)
            throw new InvalidOperationException(
                $"cannot resume from {directory}: it was written with other settings ({string.Join(", ", differences)}); rerun with the original options");
    }
}
