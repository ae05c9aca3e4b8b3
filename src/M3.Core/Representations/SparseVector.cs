using System.Runtime.InteropServices;

namespace M3.Core.Representations;

/// <summary>
/// Lexical weights of one text: token id → weight, special tokens and zero weights dropped,
/// the maximum kept for a token id that occurs more than once. Ids are sorted ascending so that
/// two vectors can be intersected by a merge.
/// </summary>
public sealed class SparseVector
{
    private readonly int[] _ids;
    private readonly float[] _weights;

    /// <summary>Wraps strictly ascending token ids and their weights (not copied).</summary>
    public SparseVector(int[] sortedIds, float[] weights)
    {
        if (sortedIds.Length != weights.Length)
            throw new ArgumentException($"ids ({sortedIds.Length}) and weights ({weights.Length}) differ in length");
        for (int i = 1; i < sortedIds.Length; i++)
            if (sortedIds[i] <= sortedIds[i - 1])
                throw new ArgumentException("sparse ids must be strictly ascending");
        _ids = sortedIds;
        _weights = weights;
    }

    /// <summary>No token at all.</summary>
    public static SparseVector Empty { get; } = new([], []);

    /// <summary>Builds a vector from (id, weight) pairs in any order, keeping the maximum per id and dropping weights ≤ 0.</summary>
    public static SparseVector FromPairs(IEnumerable<KeyValuePair<int, float>> pairs)
    {
        var max = new Dictionary<int, float>();
        foreach (var (id, w) in pairs)
        {
            if (!(w > 0)) continue;
            ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(max, id, out _);
            if (w > slot) slot = w;
        }
        var ids = max.Keys.ToArray();
        Array.Sort(ids);
        var weights = new float[ids.Length];
        for (int i = 0; i < ids.Length; i++) weights[i] = max[ids[i]];
        return new SparseVector(ids, weights);
    }

    /// <summary>Number of tokens with a weight.</summary>
    public int Count => _ids.Length;

    /// <summary>Token ids, ascending.</summary>
    public ReadOnlySpan<int> Ids => _ids;

    /// <summary>Weights, in the order of <see cref="Ids"/>.</summary>
    public ReadOnlySpan<float> Weights => _weights;

    /// <summary>The weight of <paramref name="tokenId"/>, 0 when it has none.</summary>
    public float this[int tokenId]
    {
        get
        {
            int i = Array.BinarySearch(_ids, tokenId);
            return i >= 0 ? _weights[i] : 0f;
        }
    }
}
