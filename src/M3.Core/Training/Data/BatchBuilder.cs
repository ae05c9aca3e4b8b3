using M3.Tokenization;

namespace M3.Core.Training.Data;

/// <summary>
/// Turns a planned batch into token ids as FlagEmbedding's collator does: queries truncated to
/// <c>queryMaxLength</c> and passages to <c>passageMaxLength</c> tokens (<c>&lt;s&gt;</c> + the first max−2 tokens +
/// <c>&lt;/s&gt;</c>), with the groups' teacher scores when the objective uses them.
/// </summary>
internal sealed class BatchBuilder(XlmRobertaTokenizer tokenizer, IReadOnlyList<TrainingExample> examples,
    int queryMaxLength, int passageMaxLength, bool teacherScores)
{
    private readonly Dictionary<string, int> _tokenCounts = new(StringComparer.Ordinal);

    /// <summary>Tokens of <paramref name="text"/> untruncated, <c>&lt;s&gt;</c> and <c>&lt;/s&gt;</c> included; each distinct text is tokenized once.</summary>
    public int TokenCount(string text)
    {
        if (!_tokenCounts.TryGetValue(text, out var count)) _tokenCounts[text] = count = tokenizer.EncodeToIds(text).Length;
        return count;
    }

    public TrainingBatch Build(IReadOnlyList<SampledGroup> groups)
    {
        var queries = new List<int[]>(groups.Count);
        var passages = new List<int[]>();
        var scores = teacherScores ? new List<float>() : null;
        foreach (var g in groups)
        {
            var e = examples[g.Example];
            queries.Add(tokenizer.EncodeToIds(e.Query, queryMaxLength));
            passages.Add(tokenizer.EncodeToIds(e.Positives[g.Positive], passageMaxLength));
            foreach (var n in g.Negatives) passages.Add(tokenizer.EncodeToIds(e.Negatives[n], passageMaxLength));
            if (scores != null)
            {
                if (e.PositiveScores == null || e.NegativeScores == null)
                    throw new InvalidDataException($"{e.Source}: no \"pos_scores\"/\"neg_scores\", which --teacher-scores needs on every line");
                scores.Add(e.PositiveScores[g.Positive]);
                scores.AddRange(g.Negatives.Select(n => e.NegativeScores[n]));
            }
        }
        return new TrainingBatch(queries, passages, groups[0].Negatives.Length + 1, scores?.ToArray());
    }

    /// <summary>
    /// Token slots a padded batch would hold: every query padded to the longest query, every passage to the longest
    /// passage (FlagEmbedding's collator). The excess over <see cref="TrainingBatch.TokenCount"/> is the padding that
    /// length grouping keeps small.
    /// </summary>
    public static long PaddedTokenCount(TrainingBatch batch) =>
        (long)batch.Queries.Count * batch.Queries.Max(q => q.Length) + (long)batch.Passages.Count * batch.Passages.Max(p => p.Length);
}
