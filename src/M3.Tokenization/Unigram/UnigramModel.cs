namespace M3.Tokenization.Unigram;

/// <summary>
/// The Unigram language model: pieces with log-probability scores, segmented by Viterbi exactly as Hugging Face
/// tokenizers' <c>encode_optimized</c> does (ties keep the earlier, shorter candidate; a char with no single-char
/// piece is scored min_score − 10; consecutive unknowns are fused into one unknown token).
/// </summary>
internal sealed class UnigramModel
{
    private const double UnknownPenalty = 10.0;

    private readonly string[] _pieces;
    private readonly double[] _scores;
    private readonly PieceTrie _trie;
    private readonly double _unknownScore;

    public int UnknownId { get; }
    public int Count => _pieces.Length;

    public UnigramModel(string[] pieces, double[] scores, int unknownId)
    {
        _pieces = pieces;
        _scores = scores;
        UnknownId = unknownId;
        long chars = 0;
        foreach (var p in pieces) chars += p.Length;
        _trie = new PieceTrie((int)Math.Min(chars, int.MaxValue / 4));
        double min = double.MaxValue;
        for (int id = 0; id < pieces.Length; id++)
        {
            _trie.Add(pieces[id], id);
            if (scores[id] < min) min = scores[id];
        }
        _unknownScore = min - UnknownPenalty;
    }

    public string PieceOf(int id) => _pieces[id];

    public int IdOf(ReadOnlySpan<char> piece) => _trie.Find(piece);

    /// <summary>
    /// Segments <paramref name="word"/> and calls <paramref name="sink"/> with (id, start, end) for each token in order.
    /// <paramref name="lattice"/> is scratch space reused between calls.
    /// </summary>
    public void Segment(ReadOnlySpan<char> word, Lattice lattice, ITokenSink sink)
    {
        int n = word.Length;
        lattice.Reset(n);
        var best = lattice.Score;
        var from = lattice.StartsAt;
        var ids = lattice.Id;
        for (int start = 0; start < n;)
        {
            double baseScore = best[start];
            int charLength = char.IsHighSurrogate(word[start]) && start + 1 < n && char.IsLowSurrogate(word[start + 1]) ? 2 : 1;
            bool hasSingleChar = false;
            int node = 0;
            for (int pos = start; pos < n; pos++)
            {
                node = _trie.Step(node, word[pos]);
                if (node == 0) break;
                int id = _trie.PieceAt(node);
                if (id < 0) continue;
                int end = pos + 1;
                double candidate = _scores[id] + baseScore;
                if (from[end] < 0 || candidate > best[end])
                {
                    best[end] = candidate;
                    from[end] = start;
                    ids[end] = id;
                }
                if (end - start == charLength) hasSingleChar = true;
            }
            if (!hasSingleChar)
            {
                int end = start + charLength;
                double candidate = _unknownScore + baseScore;
                if (from[end] < 0 || candidate > best[end])
                {
                    best[end] = candidate;
                    from[end] = start;
                    ids[end] = UnknownId;
                }
            }
            start += charLength;
        }
        EmitBestPath(word, lattice, sink);
    }

    /// <summary>Walks the best path backwards into the lattice's path buffer, fusing unknown runs, then emits it forwards.</summary>
    private void EmitBestPath(ReadOnlySpan<char> word, Lattice lattice, ITokenSink sink)
    {
        var path = lattice.Path;
        int count = 0;
        int end = word.Length;
        while (end > 0)
        {
            int start = lattice.StartsAt[end];
            int id = lattice.Id[end];
            if (id == UnknownId && count > 0 && path[count - 1].Id == UnknownId)
                path[count - 1].Start = start;
            else
                path[count++] = (id, start, end);
            end = start;
        }
        for (int i = count - 1; i >= 0; i--)
        {
            var (id, start, stop) = path[i];
            // The reference maps the fused text back through the vocabulary, which may know the whole run.
            if (id == UnknownId && stop - start > 1)
            {
                int known = _trie.Find(word[start..stop]);
                if (known >= 0) id = known;
            }
            sink.Add(id, start, stop);
        }
    }
}

/// <summary>Receives the tokens of one word: id and [start, end) in the word's chars.</summary>
internal interface ITokenSink
{
    void Add(int id, int start, int end);
}

/// <summary>Reusable Viterbi scratch buffers, grown on demand.</summary>
internal sealed class Lattice
{
    public double[] Score = new double[64];
    public int[] StartsAt = new int[64];
    public int[] Id = new int[64];
    public (int Id, int Start, int End)[] Path = new (int, int, int)[64];

    public void Reset(int length)
    {
        if (StartsAt.Length < length + 1)
        {
            int size = Math.Max(length + 1, StartsAt.Length * 2);
            Score = new double[size];
            StartsAt = new int[size];
            Id = new int[size];
            Path = new (int, int, int)[size];
        }
        Array.Fill(Score, 0.0, 0, length + 1);
        Array.Fill(StartsAt, -1, 0, length + 1);
    }
}
