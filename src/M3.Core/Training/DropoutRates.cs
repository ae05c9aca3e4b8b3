using System.Text.Json;
using M3.Core.Checkpoint;

namespace M3.Core.Training;

/// <summary>The dropout probabilities of training: hidden states (after the embeddings and each sublayer) and attention probabilities.</summary>
internal sealed record DropoutRates(float Hidden, float Attention)
{
    public static readonly DropoutRates None = new(0, 0);

    public bool Any => Hidden > 0 || Attention > 0;

    /// <summary>
    /// The objective's <see cref="TrainingObjective.Dropout"/> for both, else config.json's <c>hidden_dropout_prob</c> and
    /// <c>attention_probs_dropout_prob</c> (transformers' default 0.1 when absent), as FlagEmbedding trains.
    /// </summary>
    public static DropoutRates For(TrainingObjective objective, string checkpointDirectory)
    {
        if (objective.Dropout is { } p) return Checked(new DropoutRates(p, p), "--dropout");
        var path = Path.Combine(checkpointDirectory, M3Config.FileName);
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        float Read(string field) =>
            doc.RootElement.TryGetProperty(field, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetSingle()
            : doc.RootElement.TryGetProperty(field, out var bad) && bad.ValueKind != JsonValueKind.Null
                ? throw new CheckpointException(path, null, $"field '{field}': {bad.GetRawText()} is not a number") : 0.1f;
        return Checked(new DropoutRates(Read("hidden_dropout_prob"), Read("attention_probs_dropout_prob")), path);
    }

    private static DropoutRates Checked(DropoutRates r, string source) =>
        r.Hidden is >= 0 and < 1 && r.Attention is >= 0 and < 1 ? r
        : throw new ArgumentException($"{source}: dropout probabilities must be in [0, 1), got {r.Hidden} and {r.Attention}");
}
