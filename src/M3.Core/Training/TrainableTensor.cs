namespace M3.Core.Training;

/// <summary>
/// One trainable tensor: its checkpoint name (as in <c>model.safetensors</c>, heads as <c>colbert_linear.weight</c> …),
/// shape, values (row-major, updated in place by the optimizer and read by the next forward pass) and gradient.
/// </summary>
internal sealed class TrainableTensor(string name, int[] shape, float[] values)
{
    public string Name { get; } = name;
    public int[] Shape { get; } = shape;
    public float[] Values { get; } = values;

    /// <summary>d loss / d values after <see cref="IGradientModel.ComputeGradients"/>; same layout as <see cref="Values"/>.</summary>
    public float[] Gradient { get; } = new float[values.Length];

    /// <summary>
    /// For embedding matrices: the rows whose gradient may be non-zero after the last pass (all other rows are zero), so
    /// that zeroing, norms and writing touch only those. Null means the whole tensor.
    /// </summary>
    public int[]? GradientRows { get; set; }

    /// <summary>Biases and LayerNorm weights get no weight decay (Hugging Face Trainer's rule).</summary>
    public bool NoWeightDecay => Name.EndsWith(".bias", StringComparison.Ordinal) || Name.Contains("LayerNorm", StringComparison.Ordinal);

    public int RowLength => Shape.Length > 1 ? Values.Length / Shape[0] : Values.Length;
}
