namespace M3.Core.Representations;

/// <summary>
/// ColBERT vectors of one text: one L2-normalized row of <see cref="Dimension"/> floats per token after <c>&lt;s&gt;</c>
/// (the final <c>&lt;/s&gt;</c> included), stored row-major in one array.
/// </summary>
public sealed class MultiVector
{
    private readonly float[] _data;

    public MultiVector(float[] data, int dimension)
    {
        if (dimension <= 0 || data.Length % dimension != 0)
            throw new ArgumentException($"data length {data.Length} is not a multiple of dimension {dimension}");
        _data = data;
        Dimension = dimension;
    }

    public int Dimension { get; }
    public int Count => _data.Length / Dimension;
    public ReadOnlySpan<float> Data => _data;
    public ReadOnlySpan<float> this[int row] => _data.AsSpan(row * Dimension, Dimension);
}
