using M3.Core.Representations;
using M3.Core.Scoring;

namespace M3.Retrieval.Search;

/// <summary>
/// Exact top-k lexical matching with WAND (Broder et al., 2003): postings are walked document-at-a-time, and a document
/// is scored only when the sum of its terms' upper bounds (query weight × the term's largest weight) can beat the
/// current k-th score, so most postings of frequent tokens are skipped. Scored documents use <see cref="M3Scores.Sparse"/>,
/// so results equal a brute-force ranking.
/// </summary>
internal static class SparseWand
{
    // Upper bounds are sums in float32; a hair of slack keeps rounding from pruning a document that ties the threshold.
    private const float Slack = 1e-5f;

    public static List<(int Passage, float Score)> Search(IndexSnapshot index, SparseVector query, int k)
    {
        var top = new TopK(k);
        var cursors = new List<Cursor>();
        for (int i = 0; i < query.Count; i++)
            if (index.Postings.TryGetValue(query.Ids[i], out var list))
                cursors.Add(new Cursor(list, query.Weights[i] * list.MaxWeight));

        while (true)
        {
            cursors.RemoveAll(c => c.Done);
            if (cursors.Count == 0) break;
            cursors.Sort((a, b) => a.Passage.CompareTo(b.Passage));

            // Pivot: the first cursor at which the accumulated upper bounds could beat the threshold.
            float bound = 0, threshold = top.Threshold;
            int pivot = -1;
            for (int i = 0; i < cursors.Count; i++)
            {
                bound += cursors[i].UpperBound;
                if (bound * (1 + Slack) >= threshold) { pivot = i; break; }
            }
            if (pivot < 0) break;

            int pivotPassage = cursors[pivot].Passage;
            if (cursors[0].Passage == pivotPassage)
            {
                top.Offer(pivotPassage, M3Scores.Sparse(query, index.Sparse[pivotPassage]));
                foreach (var c in cursors)
                    if (c.Passage == pivotPassage) c.Next();
            }
            else
            {
                // Move the cursors before the pivot up to the pivot's passage: nothing before it can enter the top k.
                for (int i = 0; i < pivot; i++) cursors[i].SkipTo(pivotPassage);
            }
        }
        return top.Result();
    }

    private sealed class Cursor(PostingList list, float upperBound)
    {
        private int _position;
        public float UpperBound { get; } = upperBound;
        public bool Done => _position >= list.Passages.Length;
        public int Passage => list.Passages[_position];
        public void Next() => _position++;

        public void SkipTo(int passage)
        {
            int found = Array.BinarySearch(list.Passages, _position, list.Passages.Length - _position, passage);
            _position = found >= 0 ? found : ~found;
        }
    }
}
