namespace M3.Retrieval.Search;

/// <summary>
/// Keeps the k best (score, passage) pairs. Order: higher score first, then earlier insertion (lower passage index),
/// so rankings are deterministic on ties.
/// </summary>
internal sealed class TopK(int k)
{
    private readonly PriorityQueue<int, (float Score, int Passage)> _heap = new(Comparer<(float Score, int Passage)>.Create(
        (a, b) => a.Score != b.Score ? a.Score.CompareTo(b.Score) : b.Passage.CompareTo(a.Passage)));

    public int Count => _heap.Count;

    /// <summary>The score a new passage must beat to enter, or -∞ while fewer than k are held.</summary>
    public float Threshold => _heap.Count < k ? float.NegativeInfinity : Worst().Score;

    public void Offer(int passage, float score)
    {
        if (k <= 0) return;
        if (_heap.Count < k) { _heap.Enqueue(passage, (score, passage)); return; }
        var worst = Worst();
        if (score > worst.Score || (score == worst.Score && passage < worst.Passage))
            _heap.EnqueueDequeue(passage, (score, passage));
    }

    private (float Score, int Passage) Worst()
    {
        _heap.TryPeek(out _, out var worst);
        return worst;
    }

    /// <summary>Best first.</summary>
    public List<(int Passage, float Score)> Result()
    {
        var items = _heap.UnorderedItems.Select(x => (x.Element, x.Priority.Score)).ToList();
        items.Sort((a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Element.CompareTo(b.Element));
        return items;
    }
}
