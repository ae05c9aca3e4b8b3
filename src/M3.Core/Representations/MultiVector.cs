namespace M3.Core.Representations;

/// <summary>
/// ColBERT vectors of one text: one L2-normalized row of <see cref="Dimension"/> floats per token after <c>&lt;s&gt;</c>
/// (the final <c>&lt;/s&gt;</c> included), stored row-major in one array.
/// </summary>
public sealed class MultiVector
{
    private readonly float[] _data;

    /// <summary>Wraps <paramref name="data"/> (row-major, not copied) as rows of <paramref name="dimension"/> floats.</summary>
    public MultiVector(float[] data, int dimension)
    {
        if (dimension <= 0 || data.Length % dimension != 0)
            throw new ArgumentException($"data length {data.Length} is not a multiple of dimension {dimension}");
        _data = data;
        Dimension = dimension;
    }

    /// <summary>Floats per row: the model's hidden size.</summary>
    public int Dimension { get; }

    /// <summary>Number of rows (tokens).</summary>
    public int Count => _data.Length / Dimension;

    /// <summary>All rows, row-major.</summary>
    public ReadOnlySpan<float> Data => _data;

    /// <summary>Row <paramref name="row"/>.</summary>
    public ReadOnlySpan<float> this[int row] => _data.AsSpan(row * Dimension, Dimension);
}
