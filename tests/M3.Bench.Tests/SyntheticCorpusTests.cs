using M3.Bench.Index;

namespace M3.Bench.Tests;

/// <summary>The synthetic index benchmark queries in a second process: both must generate the same corpus.</summary>
public class SyntheticCorpusTests
{
    [Fact]
    public void Item_seeds_are_fixed_values_not_per_process_hashes()
    {
        // Values of the documented mix, computed independently: a per-process randomized hash would differ in every run.
        Assert.Equal(-317574586, SyntheticCorpus.Seed(42, 7, 1));
        Assert.Equal(-1146257810, SyntheticCorpus.Seed(42, 1_000_000, 5));
    }

    [Fact]
    public void A_query_lies_nearer_its_passage_than_other_passages()
    {
        var corpus = new SyntheticCorpus(colbertVectors: 0);
        var query = corpus.QueryFor(3).Dense!;
        float own = M3.Core.Scoring.M3Scores.Dense(query, corpus.Passage(3).Dense!);
        Assert.All(Enumerable.Range(100, 50), i => Assert.True(M3.Core.Scoring.M3Scores.Dense(query, corpus.Passage(i).Dense!) < own));
    }
}
