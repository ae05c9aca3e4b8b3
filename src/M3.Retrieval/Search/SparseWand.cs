using M3.Core.Representations;

namespace M3.Retrieval.Search;

/// <summary>
/// Exact top-k lexical matching with block-max WAND (Ding and Suel, 2011): cursors walk the query tokens' postings
/// document-at-a-time; a passage is scored only when the sum of its tokens' list bounds can beat the current k-th score,
/// and, before decoding anything, when the sum of the bounds of the blocks that hold it can too. A passage's score adds
/// q_w · p_w over its tokens in ascending token order from the exact stored weights, the same sum in the same order as
/// <see cref="M3.Core.Scoring.M3Scores.Sparse"/>, so rankings equal a brute-force ranking bit for bit.
/// </summary>
internal static class SparseWand
{
    // Bounds are float32 sums in another order than the score; a hair of slack keeps rounding from pruning a tie.
    private const float Slack = 1e-5f;

    public static List<(int Passage, float Score)> Search(IndexSnapshot index, SparseVector query, int k)
    {
        var top = new TopK(k);
        var cursors = Cursors(index, query);
        while (true)
        {
            cursors.RemoveAll(c => c.Done);
            if (cursors.Count == 0) break;
            cursors.Sort((a, b) => a.Seq.CompareTo(b.Seq));

            float bound = 0, threshold = top.Threshold;
            int pivot = -1;
            for (int i = 0; i < cursors.Count; i++)
            {
                bound += cursors[i].UpperBound;
                if (bound * (1 + Slack) >= threshold) { pivot = i; break; }
            }
            if (pivot < 0) break;
            int pivotSeq = cursors[pivot].Seq;
            // Cursors after the pivot on the same passage share in its score: the bounds and skips below must count them.
            while (pivot + 1 < cursors.Count && cursors[pivot + 1].Seq == pivotSeq) pivot++;
            // Shallow check: the blocks holding pivotSeq, without decoding them.
            float blockBound = 0;
            for (int i = 0; i <= pivot; i++) blockBound += cursors[i].BlockBound(pivotSeq);
            if (blockBound * (1 + Slack) < threshold)
            {
                // No passage up to the end of the first of these blocks can enter: jump past it.
                long next = long.MaxValue;
                for (int i = 0; i <= pivot; i++) next = Math.Min(next, cursors[i].BlockEnd(pivotSeq) + 1L);
                if (pivot + 1 < cursors.Count) next = Math.Min(next, cursors[pivot + 1].Seq);
                int target = (int)Math.Max(next, pivotSeq + 1L);
                for (int i = 0; i <= pivot; i++) cursors[i].SkipTo(target);
                continue;
            }
            if (cursors[0].Seq == pivotSeq)
            {
                if (index.IsLive(pivotSeq)) top.Offer(pivotSeq, Score(cursors, pivotSeq));
                foreach (var c in cursors)
                    if (c.Seq == pivotSeq) c.Next();
            }
            else
            {
                for (int i = 0; i < pivot; i++) cursors[i].SkipTo(pivotSeq);
            }
        }
        return top.Result();
    }

    /// <summary>Every live passage sharing a token with the query and its exact score (term at a time, ascending token order).</summary>
    public static Dictionary<int, float> All(IndexSnapshot index, SparseVector query)
    {
        var scores = new Dictionary<int, float>();
        foreach (var c in Cursors(index, query).OrderBy(c => c.Term))
            for (; !c.Done; c.Next())
                if (index.IsLive(c.Seq))
                    scores[c.Seq] = scores.GetValueOrDefault(c.Seq) + c.QueryWeight * c.Weight;
        return scores;
    }

    private static float Score(List<Cursor> cursors, int seq)
    {
        float sum = 0;
        foreach (var c in cursors.Where(c => c.Seq == seq).OrderBy(c => c.Term)) sum += c.QueryWeight * c.Weight;
        return sum;
    }

    private static List<Cursor> Cursors(IndexSnapshot index, SparseVector query)
    {
        var cursors = new List<Cursor>();
        for (int i = 0; i < query.Count; i++)
        {
            if (index.Base?.Postings.Find(query.Ids[i]) is { } list) cursors.Add(new Cursor(list, i, query.Weights[i]));
            if (index.TailPostings.TryGetValue(query.Ids[i], out var tail)) cursors.Add(new Cursor(tail, i, query.Weights[i]));
        }
        return cursors;
    }

    private sealed class Cursor
    {
        private readonly IPostingList _list;
        private readonly int[] _seqs = new int[IPostingList.BlockSize];
        private readonly float[] _weights = new float[IPostingList.BlockSize];
        private int _block = -1, _length, _position;

        public Cursor(IPostingList list, int term, float queryWeight)
        {
            _list = list;
            Term = term;
            QueryWeight = queryWeight;
            UpperBound = queryWeight * list.MaxWeight;
            Load(0);
        }

        /// <summary>The query token's position in the query (ascending token id).</summary>
        public int Term { get; }
        public float QueryWeight { get; }
        public float UpperBound { get; }
        public bool Done => _block >= _list.BlockCount;
        public int Seq => _seqs[_position];
        public float Weight => _weights[_position];

        private void Load(int block)
        {
            _block = block;
            _position = 0;
            if (!Done) _length = _list.Decode(block, _seqs, _weights);
        }

        public void Next()
        {
            if (++_position >= _length) Load(_block + 1);
        }

        /// <summary>The block that would hold <paramref name="seq"/> (from the current one on), or BlockCount.</summary>
        private int BlockFor(int seq)
        {
            int lo = Math.Max(_block, 0), hi = _list.BlockCount;
            while (lo < hi)
            {
                int mid = (lo + hi) >>> 1;
                if (_list.BlockLast(mid) < seq) lo = mid + 1; else hi = mid;
            }
            return lo;
        }

        public float BlockBound(int seq) => BlockFor(seq) is var b && b < _list.BlockCount ? QueryWeight * _list.BlockMax(b) : 0;

        public long BlockEnd(int seq) => BlockFor(seq) is var b && b < _list.BlockCount ? _list.BlockLast(b) : int.MaxValue;

        public void SkipTo(int seq)
        {
            if (Done || Seq >= seq) return;
            int b = BlockFor(seq);
            if (b != _block) Load(b);
            if (Done) return;
            int found = Array.BinarySearch(_seqs, _position, _length - _position, seq);
            _position = found >= 0 ? found : ~found;
            if (_position >= _length) Load(_block + 1);
        }
    }
}
