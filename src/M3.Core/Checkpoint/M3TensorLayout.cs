namespace M3.Core.Checkpoint;

/// <summary>A tensor BGE-M3 needs: its name in the checkpoint (without any model prefix) and its expected shape.</summary>
internal sealed record TensorSpec(string Name, int[] Shape)
{
    public string ShapeText => CheckpointTensor.FormatShape(Shape);
}

/// <summary>The XLM-RoBERTa encoder tensors a BGE-M3 checkpoint must hold, with shapes derived from the config.</summary>
internal static class M3TensorLayout
{
    /// <summary>Every encoder tensor in build order: embeddings, then each layer. Pooler weights exist in checkpoints but are unused.</summary>
    public static IReadOnlyList<TensorSpec> Encoder(M3Config c)
    {
        int h = c.HiddenSize, i = c.IntermediateSize;
        var specs = new List<TensorSpec>
        {
            new("embeddings.word_embeddings.weight", [c.VocabSize, h]),
            new("embeddings.position_embeddings.weight", [c.MaxPositionEmbeddings, h]),
            new("embeddings.token_type_embeddings.weight", [c.TypeVocabSize, h]),
            new("embeddings.LayerNorm.weight", [h]),
            new("embeddings.LayerNorm.bias", [h]),
        };
        for (var layer = 0; layer < c.NumHiddenLayers; layer++)
        {
            var p = LayerPrefix(layer);
            foreach (var projection in new[] { "query", "key", "value" })
                Linear(specs, $"{p}attention.self.{projection}", h, h);
            Linear(specs, p + "attention.output.dense", h, h);
            Norm(specs, p + "attention.output.LayerNorm", h);
            Linear(specs, p + "intermediate.dense", i, h);
            Linear(specs, p + "output.dense", h, i);
            Norm(specs, p + "output.LayerNorm", h);
        }
        return specs;
    }

    /// <summary>The name prefix of one transformer layer, e.g. <c>encoder.layer.3.</c>.</summary>
    public static string LayerPrefix(int layer) => $"encoder.layer.{layer}.";

    private static void Linear(List<TensorSpec> specs, string name, int outFeatures, int inFeatures)
    {
        specs.Add(new(name + ".weight", [outFeatures, inFeatures])); // torch Linear stores [out, in]
        specs.Add(new(name + ".bias", [outFeatures]));
    }

    private static void Norm(List<TensorSpec> specs, string name, int h)
    {
        specs.Add(new(name + ".weight", [h]));
        specs.Add(new(name + ".bias", [h]));
    }
}
