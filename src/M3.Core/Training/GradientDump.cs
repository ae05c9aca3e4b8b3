using System.Text.Json;
using M3.Core.Checkpoint;

namespace M3.Core.Training;

/// <summary>
/// <c>m3 train --gradients-only PREFIX</c>: the first batch's loss parts (<c>PREFIX.json</c>, named as in
/// <c>train_golden.json</c>; parts a configuration does not compute are absent) and every trainable tensor's float32
/// gradient (<c>PREFIX.safetensors</c>, checkpoint names; an embedding matrix with reported rows as <c>NAME.rows</c>
/// (I64) + <c>NAME.values</c>, all other rows being zero).
/// </summary>
internal static class GradientDump
{
    public static void Write(string prefix, LossParts loss, IReadOnlyList<TrainableTensor> parameters)
    {
        var parts = loss.ByName();
        CheckpointWriting.WriteAtomically(prefix + ".json", stream =>
        {
            using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
            json.WriteStartObject();
            foreach (var (name, value) in parts)
                if (value is { } v) json.WriteNumber(name, v);
            json.WriteEndObject();
        });

        var layout = new List<TensorInfo>();
        var fills = new Dictionary<string, Action<Span<float>>>(StringComparer.Ordinal);
        foreach (var t in parameters)
        {
            if (t.GradientRows is { } rows)
            {
                var width = t.RowLength;
                layout.Add(new TensorInfo(t.Name + ".rows", [rows.Length], TensorDType.I64));
                fills[t.Name + ".rows"] = d => { for (var i = 0; i < rows.Length; i++) d[i] = rows[i]; };
                layout.Add(new TensorInfo(t.Name + ".values", [rows.Length, width], TensorDType.F32));
                fills[t.Name + ".values"] = d =>
                {
                    for (var i = 0; i < rows.Length; i++) t.Gradient.AsSpan(rows[i] * width, width).CopyTo(d.Slice(i * width, width));
                };
            }
            else
            {
                layout.Add(new TensorInfo(t.Name, t.Shape, TensorDType.F32));
                fills[t.Name] = d => t.Gradient.CopyTo(d);
            }
        }
        SafetensorsWriter.Write(prefix + ".safetensors", layout, (info, destination) => fills[info.Name](destination));
    }
}
