namespace M3.Tokenization.Unigram;

/// <summary>
/// A char trie over the vocabulary pieces for Viterbi's common-prefix search. Root edges live in a flat
/// array (every position starts there); deeper edges in one open-addressing table keyed by (node, char),
/// which builds a 250k-piece vocabulary in a few tens of milliseconds and walks without allocating.
/// </summary>
internal sealed class PieceTrie
{
    private readonly int[] _rootChildren = new int[char.MaxValue + 1];
    private long[] _keys;
    private int[] _children;
    private int _edgeCount;
    private int[] _pieceIds; // per node: piece id ending here, -1 when none
    private int _nodeCount = 1;

    public PieceTrie(int expectedChars)
    {
        int capacity = 1024;
        while (capacity < expectedChars) capacity <<= 1; // edges ≤ chars; Insert doubles past half full
        _keys = new long[capacity];
        _children = new int[capacity];
        _pieceIds = new int[Math.Max(16, expectedChars + 1)];
        Array.Fill(_pieceIds, -1);
    }

    /// <summary>Adds a piece; a later piece with the same text replaces the earlier one, as in the reference's map.</summary>
    public void Add(ReadOnlySpan<char> piece, int id)
    {
        int node = 0;
        foreach (char c in piece)
        {
            int child = Step(node, c);
            if (child == 0)
            {
                child = NewNode();
                if (node == 0) _rootChildren[c] = child;
                else Insert(node, c, child);
            }
            node = child;
        }
        if (node != 0) _pieceIds[node] = id;
    }

    /// <summary>The child of <paramref name="node"/> along <paramref name="c"/>, or 0 when there is none.</summary>
    public int Step(int node, char c)
    {
        if (node == 0) return _rootChildren[c];
        long key = ((long)node << 16) | c;
        int mask = _keys.Length - 1;
        for (int slot = Hash(key) & mask; ; slot = (slot + 1) & mask)
        {
            long k = _keys[slot];
            if (k == key) return _children[slot];
            if (k == 0) return 0;
        }
    }

    /// <summary>The id of the piece that ends at <paramref name="node"/>, or -1.</summary>
    public int PieceAt(int node) => _pieceIds[node];

    /// <summary>The id of exactly <paramref name="text"/>, or -1.</summary>
    public int Find(ReadOnlySpan<char> text)
    {
        int node = 0;
        foreach (char c in text)
        {
            node = Step(node, c);
            if (node == 0) return -1;
        }
        return node == 0 ? -1 : _pieceIds[node];
    }

    private int NewNode()
    {
        if (_nodeCount == _pieceIds.Length)
        {
            int old = _pieceIds.Length;
            Array.Resize(ref _pieceIds, old * 2);
            Array.Fill(_pieceIds, -1, old, old);
        }
        return _nodeCount++;
    }

    private void Insert(int node, char c, int child)
    {
        if ((_edgeCount + 1) * 2 > _keys.Length) Rehash();
        long key = ((long)node << 16) | c;
        int mask = _keys.Length - 1;
        int slot = Hash(key) & mask;
        while (_keys[slot] != 0) slot = (slot + 1) & mask;
        _keys[slot] = key;
        _children[slot] = child;
        _edgeCount++;
    }

    private void Rehash()
    {
        var oldKeys = _keys;
        var oldChildren = _children;
        _keys = new long[oldKeys.Length * 2];
        _children = new int[oldKeys.Length * 2];
        int mask = _keys.Length - 1;
        for (int i = 0; i < oldKeys.Length; i++)
        {
            if (oldKeys[i] == 0) continue;
            int slot = Hash(oldKeys[i]) & mask;
            while (_keys[slot] != 0) slot = (slot + 1) & mask;
            _keys[slot] = oldKeys[i];
            _children[slot] = oldChildren[i];
        }
    }

    private static int Hash(long key)
    {
        ulong h = (ulong)key * 0x9E3779B97F4A7C15UL;
        return (int)(h >> 32);
    }
}
