using System.Buffers.Binary;
using System.Text.Json;
using M3.Core.Training;
using M3.Tests;

namespace M3.Core.Tests.Training;

/// <summary>The fixture's training golden (train_golden.json and its gradients' safetensors), read for the tests.</summary>
internal sealed class TrainGolden
{
    private readonly Dictionary<string, (string DType, int[] Shape, byte[] Data)> _tensors = [];

    public JsonElement Root { get; }

    public static TrainGolden Load() => new(Path.Combine(TestPaths.TinyM3, "train_golden"));

    private TrainGolden(string prefix)
    {
        Root = JsonDocument.Parse(File.ReadAllBytes(prefix + ".json")).RootElement;
        var raw = File.ReadAllBytes(prefix + ".grads.safetensors");
        long n = BinaryPrimitives.ReadInt64LittleEndian(raw);
        using var header = JsonDocument.Parse(raw.AsMemory(8, (int)n));
        foreach (var e in header.RootElement.EnumerateObject())
        {
            if (e.Name == "__metadata__") continue;
            var offsets = e.Value.GetProperty("data_offsets");
            int start = (int)(8 + n + offsets[0].GetInt64()), end = (int)(8 + n + offsets[1].GetInt64());
            _tensors[e.Name] = (e.Value.GetProperty("dtype").GetString()!, [.. e.Value.GetProperty("shape").EnumerateArray().Select(x => x.GetInt32())], raw[start..end]);
        }
    }

    public JsonElement Case(string name) => Root.GetProperty("cases").GetProperty(name);

    public TrainingBatch Batch(int index)
    {
        var b = Root.GetProperty("batches")[index];
        int[][] Ids(string field) => [.. b.GetProperty(field).EnumerateArray().Select(t => t.EnumerateArray().Select(x => x.GetInt32()).ToArray())];
        float[] teacher = [.. b.GetProperty("teacher_scores").EnumerateArray().Select(x => x.GetSingle())];
        return new TrainingBatch(Ids("query_input_ids"), Ids("passage_input_ids"), Root.GetProperty("hyperparameters").GetProperty("train_group_size").GetInt32(), teacher);
    }

    public static TrainingObjective Objective(JsonElement config) => new()
    {
        Unified = config.GetProperty("unified_finetuning").GetBoolean(),
        SelfDistill = config.GetProperty("use_self_distill").GetBoolean(),
        SelfDistillStartStep = config.GetProperty("self_distill_start_step").GetInt32(),
        TeacherScores = config.GetProperty("teacher_scores").GetBoolean(),
        KdLoss = config.GetProperty("kd_loss_type").GetString() == "kl_div" ? KdLossType.KlDiv : KdLossType.M3KdLoss,
        Dropout = 0,
    };

    /// <summary>A golden gradient as float64, rebuilt from NAME.rows + NAME.values for embedding tables; null if absent.</summary>
    public double[]? Gradient(string key, int[] shape)
    {
        if (_tensors.TryGetValue(key, out var t)) return Floats(t.Data);
        if (!_tensors.TryGetValue(key + ".rows", out var rows)) return null;
        var values = Floats(_tensors[key + ".values"].Data);
        int width = shape[1];
        var result = new double[shape[0] * width];
        for (int r = 0; r < rows.Data.Length / 8; r++)
        {
            long row = BinaryPrimitives.ReadInt64LittleEndian(rows.Data.AsSpan(r * 8));
            Array.Copy(values, r * width, result, row * width, width);
        }
        return result;
    }

    private static double[] Floats(byte[] data)
    {
        var result = new double[data.Length / 4];
        for (int i = 0; i < result.Length; i++) result[i] = BinaryPrimitives.ReadSingleLittleEndian(data.AsSpan(i * 4));
        return result;
    }
}
