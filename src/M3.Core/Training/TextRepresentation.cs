namespace M3.Core.Training;

/// <summary>
/// One text's representations as the loss reads them: the dense vector [H], the sparse head's weight at every token
/// [length] and the ColBERT vectors of its tokens after &lt;s&gt; [(length − 1)·H]; or, for the loss' output, the
/// gradients with respect to the same numbers.
/// </summary>
internal sealed class TextRepresentation<T>(int[] ids, int hidden, bool unified) where T : struct
{
    public int[] Ids { get; } = ids;
    public T[] Dense { get; } = new T[hidden];
    public T[] Sparse { get; } = unified ? new T[ids.Length] : [];
    public T[] Colbert { get; } = unified ? new T[(ids.Length - 1) * hidden] : [];
}
