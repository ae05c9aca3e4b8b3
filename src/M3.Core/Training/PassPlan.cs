namespace M3.Core.Training;

/// <summary>
/// How a batch's texts (in order) are split into encoder passes: at most <c>maxTexts</c> texts per pass when given, and
/// at most <c>tokenBudget</c> tokens (a longer text runs alone). Of the splits with the fewest passes, the one whose
/// largest pass is smallest: peak memory follows the largest pass, so 2 short queries and 16 passages of 256 tokens under
/// a 2,048-token budget run as passes of 2 + 5, 6 and 5 texts (at most 1,536 tokens) rather than 2 + 7, 8 and 1 (2,048).
/// </summary>
internal static class PassPlan
{
    /// <summary>The number of texts in each pass, in order.</summary>
    public static List<int> Split(IReadOnlyList<int> lengths, int tokenBudget, int? maxTexts)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(tokenBudget, 1);
        int passes = Greedy(lengths, tokenBudget, maxTexts).Count;
        // Greedy packing never needs more passes under a larger budget, so the smallest budget that keeps the pass count
        // is found by bisection.
        int lo = 1, hi = tokenBudget;
        while (lo < hi)
        {
            int mid = lo + (hi - lo) / 2;
            if (Greedy(lengths, mid, maxTexts).Count <= passes) hi = mid;
            else lo = mid + 1;
        }
        return Greedy(lengths, hi, maxTexts);
    }

    private static List<int> Greedy(IReadOnlyList<int> lengths, int tokenBudget, int? maxTexts)
    {
        var counts = new List<int>();
        for (int start = 0; start < lengths.Count;)
        {
            int count = 1, tokens = lengths[start];
            while (start + count < lengths.Count && (maxTexts is not { } max || count < max) && tokens + lengths[start + count] <= tokenBudget)
                tokens += lengths[start + count++];
            counts.Add(count);
            start += count;
        }
        return counts;
    }
}
