namespace M3.Retrieval.Search;

/// <summary>
/// One token's postings as blocks of up to <see cref="BlockSize"/> passages (seq ascending), each with the largest weight
/// in it: block-max WAND skips whole blocks whose bound cannot beat the current k-th score without decoding them.
/// Block b covers seqs in (last of block b − 1, last of block b].
/// </summary>
internal interface IPostingList
{
    const int BlockSize = 128;
    int Count { get; }
    float MaxWeight { get; }
    int BlockCount { get; }
    int BlockLast(int block);
    float BlockMax(int block);

    /// <summary>Decodes block <paramref name="block"/> into the buffers (each at least <see cref="BlockSize"/> long); returns its length.</summary>
    int Decode(int block, int[] seqs, float[] weights);
}

/// <summary>The postings of passages not yet in a base segment, held in memory (a few thousand passages at most).</summary>
internal sealed class MemoryPostingList : IPostingList
{
    private readonly int[] _seqs;
    private readonly float[] _weights;
    private readonly float[] _blockMax;

    public MemoryPostingList(int[] seqs, float[] weights)
    {
        _seqs = seqs;
        _weights = weights;
        _blockMax = new float[(seqs.Length + IPostingList.BlockSize - 1) / IPostingList.BlockSize];
        for (int i = 0; i < weights.Length; i++)
            _blockMax[i / IPostingList.BlockSize] = MathF.Max(_blockMax[i / IPostingList.BlockSize], weights[i]);
        MaxWeight = _blockMax.Length == 0 ? 0 : _blockMax.Max();
    }

    public int Count => _seqs.Length;
    public float MaxWeight { get; }
    public int BlockCount => _blockMax.Length;
    public int BlockLast(int block) => _seqs[Math.Min((block + 1) * IPostingList.BlockSize, _seqs.Length) - 1];
    public float BlockMax(int block) => _blockMax[block];

    public int Decode(int block, int[] seqs, float[] weights)
    {
        int start = block * IPostingList.BlockSize, n = Math.Min(IPostingList.BlockSize, _seqs.Length - start);
        Array.Copy(_seqs, start, seqs, 0, n);
        Array.Copy(_weights, start, weights, 0, n);
        return n;
    }
}
