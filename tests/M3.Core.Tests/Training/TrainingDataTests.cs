using System.Text.Json;
using M3.Core.Training;
using M3.Core.Training.Data;
using M3.Tests;
using M3.Tokenization;

namespace M3.Core.Tests.Training;

public class TrainingDataTests
{
    private static readonly string GoldenPrefix = Path.Combine(TestPaths.TinyM3, "train_golden");

    [Fact]
    public void First_batches_of_the_golden_data_are_the_goldens_batches()
    {
        // The golden's batches: examples in file order, group size 4 (pos[0], neg[0..2]), batch size 2, max lengths 64/256.
        var examples = TrainingDataReader.Read([GoldenPrefix + ".train.jsonl"], requireScores: true);
        var planner = new EpochPlanner(examples, batchSize: 2, groupSize: 4, shuffle: false, seed: 42);
        var builder = new BatchBuilder(XlmRobertaTokenizer.Load(TestPaths.TinyM3), examples, 64, 256, teacherScores: true);
        using var golden = JsonDocument.Parse(File.ReadAllText(GoldenPrefix + ".json"));
        var goldenBatches = golden.RootElement.GetProperty("batches").EnumerateArray().ToList();
        var plan = planner.Plan(0);
        Assert.Equal(goldenBatches.Count, plan.Count);
        for (var k = 0; k < plan.Count; k++)
        {
            var batch = builder.Build(plan[k]);
            Assert.Equal(Ids(goldenBatches[k], "query_input_ids"), batch.Queries.Select(q => q.ToArray()));
            Assert.Equal(Ids(goldenBatches[k], "passage_input_ids"), batch.Passages.Select(p => p.ToArray()));
            Assert.Equal(4, batch.GroupSize);
            var scores = goldenBatches[k].GetProperty("teacher_scores").EnumerateArray().Select(s => s.GetSingle());
            Assert.Equal(scores, batch.TeacherScores!);
        }
    }

    [Fact]
    public void Bad_lines_name_the_file_and_line()
    {
        var dir = TestPaths.NewTempDir();
        var path = Path.Combine(dir, "d.jsonl");
        void Expect(string line, string message, bool scores = false)
        {
            File.WriteAllText(path, "{\"query\": \"q\", \"pos\": [\"p\"], \"neg\": [\"n\"], \"pos_scores\": [1], \"neg_scores\": [0]}\n\n" + line + "\n");
            var e = Assert.Throws<InvalidDataException>(() => TrainingDataReader.Read([path], scores));
            Assert.StartsWith($"{path}:3: ", e.Message);
            Assert.Contains(message, e.Message);
        }
        Expect("{\"query\": \"q\", \"pos\": [\"p\"]", "invalid JSON");
        Expect("[1]", "expected a JSON object");
        Expect("{\"pos\": [\"p\"], \"neg\": [\"n\"]}", "\"query\"");
        Expect("{\"query\": \"q\", \"pos\": [], \"neg\": [\"n\"]}", "\"pos\" is empty");
        Expect("{\"query\": \"q\", \"pos\": [\"p\"], \"neg\": [1]}", "\"neg\" must hold strings");
        Expect("{\"query\": \"q\", \"pos\": [\"p\"], \"neg\": []}", "\"neg\" is empty");
        Expect("{\"query\": \"q\", \"pos\": [\"p\"], \"neg\": [\"n\"]}", "--teacher-scores", scores: true);
        Expect("{\"query\": \"q\", \"pos\": [\"p\"], \"neg\": [\"n\", \"m\"], \"pos_scores\": [1], \"neg_scores\": [0]}", "one score per passage");
        Assert.Throws<FileNotFoundException>(() => TrainingDataReader.Read([Path.Combine(dir, "missing.jsonl")], false));
    }

    [Fact]
    public void Folders_contribute_their_JSON_Lines_files_in_name_order()
    {
        var dir = TestPaths.NewTempDir();
        File.WriteAllText(Path.Combine(dir, "b.jsonl"), Line("second") + "\n");
        File.WriteAllText(Path.Combine(dir, "a.json"), Line("first") + "\n");
        File.WriteAllText(Path.Combine(dir, "notes.txt"), "not data");
        var examples = TrainingDataReader.Read([dir], requireScores: false);
        Assert.Equal(["first", "second"], examples.Select(e => e.Query));
        Assert.Null(examples[0].PositiveScores);
    }

    [Fact]
    public void Unshuffled_groups_cycle_the_negatives_in_order()
    {
        var e = Example(negatives: 3);
        var g = GroupSampler.Sample(e, 7, groupSize: 8, random: null);
        Assert.Equal(7, g.Example);
        Assert.Equal(0, g.Positive);
        Assert.Equal([0, 1, 2, 0, 1, 2, 0], g.Negatives);
    }

    [Fact]
    public void Sampled_negatives_are_drawn_without_replacement_from_the_repeated_pool()
    {
        var random = new Random(1);
        var few = Example(negatives: 3);
        var many = Example(negatives: 20);
        for (var trial = 0; trial < 200; trial++)
        {
            // 3 negatives for 7 slots: the pool holds each ⌈7/3⌉ = 3 times, so none appears more than 3 times.
            var g = GroupSampler.Sample(few, 0, 8, random);
            Assert.Equal(7, g.Negatives.Length);
            Assert.All(g.Negatives.CountBy(n => n), c => Assert.InRange(c.Value, 1, 3));
            var h = GroupSampler.Sample(many, 0, 8, random);
            Assert.Equal(7, h.Negatives.Distinct().Count());
            Assert.InRange(h.Positive, 0, 1);
        }
    }

    [Fact]
    public void Shuffled_epochs_cover_every_example_once_depend_only_on_seed_and_epoch_and_group_by_length()
    {
        var rng = new Random(3);
        var examples = Enumerable.Range(0, 1000).Select(i => Example(negatives: 4, length: rng.Next(1, 300))).ToList();
        var planner = new EpochPlanner(examples, batchSize: 4, groupSize: 3, shuffle: true, seed: 5);
        var epoch0 = planner.Plan(0);
        Assert.Equal(250, epoch0.Count);
        Assert.Equal(Enumerable.Range(0, 1000), epoch0.SelectMany(b => b).Select(g => g.Example).Order());
        Assert.Equal(Flatten(epoch0), Flatten(new EpochPlanner(examples, 4, 3, true, 5).Plan(0)));
        Assert.NotEqual(Flatten(epoch0), Flatten(planner.Plan(1)));
        Assert.NotEqual(Flatten(epoch0), Flatten(new EpochPlanner(examples, 4, 3, true, 6).Plan(0)));

        // Length grouping: the spread of query lengths inside a batch is far below that of a random batch.
        double Spread(IEnumerable<SampledGroup[]> batches) => batches.Average(b => b.Max(g => examples[g.Example].Query.Length) - b.Min(g => examples[g.Example].Query.Length));
        var random = examples.Select((_, i) => new SampledGroup(i, 0, [])).Chunk(4);
        Assert.True(Spread(epoch0) < Spread(random) / 5, $"grouped spread {Spread(epoch0)} vs random {Spread(random)}");
    }

    [Fact]
    public void Shuffled_batches_group_by_the_longest_passage_which_the_collator_pads_to()
    {
        // One negative of random length and short other texts: groups whose total lengths are alike can still have
        // very different longest passages, and every passage of a batch is padded to the longest.
        var rng = new Random(4);
        var examples = Enumerable.Range(0, 800).Select(_ => new TrainingExample(new string('q', rng.Next(1, 300)), ["p"],
            ["n", new string('n', rng.Next(1, 300)), "nn"], null, null, "test")).ToList();
        var epoch = new EpochPlanner(examples, batchSize: 8, groupSize: 4, shuffle: true, seed: 1).Plan(0);
        int Longest(SampledGroup g) => g.Negatives.Max(n => examples[g.Example].Negatives[n].Length);
        double Spread(IEnumerable<SampledGroup[]> batches) => batches.Average(b => b.Max(Longest) - b.Min(Longest));
        var unsorted = new EpochPlanner(examples, 8, 4, shuffle: false, seed: 1).Plan(0);
        Assert.True(Spread(epoch) < Spread(unsorted) / 10, $"grouped spread {Spread(epoch)} vs file order {Spread(unsorted)}");
    }

    [Fact]
    public void Shuffled_batches_group_by_the_given_length_not_by_characters()
    {
        // Equal character lengths, very different token lengths (as for scripts the vocabulary splits finely).
        var rng = new Random(6);
        var tokens = new Dictionary<string, int>();
        var examples = Enumerable.Range(0, 800).Select(i =>
        {
            var negative = $"n{i:D4}";
            tokens[negative] = rng.Next(3, 128);
            return new TrainingExample("q", ["p"], [negative], null, null, "test");
        }).ToList();
        int Length(string text) => tokens.GetValueOrDefault(text, 3);
        var epoch = new EpochPlanner(examples, batchSize: 8, groupSize: 2, shuffle: true, seed: 1, Length).Plan(0);
        double spread = epoch.Average(b => b.Max(g => Length(examples[g.Example].Negatives[0])) - b.Min(g => Length(examples[g.Example].Negatives[0])));
        Assert.True(spread < 5, $"token-length spread inside a batch {spread}");
    }

    [Fact]
    public void Token_count_counts_special_tokens_and_caches_each_text()
    {
        var builder = new BatchBuilder(XlmRobertaTokenizer.Load(TestPaths.TinyM3), [], 32, 128, teacherScores: false);
        var text = "Save the file before closing it";
        Assert.Equal(XlmRobertaTokenizer.Load(TestPaths.TinyM3).EncodeToIds(text).Length, builder.TokenCount(text));
        Assert.Equal(builder.TokenCount(text), builder.TokenCount(new string(text.AsSpan())));
    }

    [Fact]
    public void Padded_token_count_pads_queries_and_passages_to_their_longest()
    {
        var batch = new TrainingBatch([[0, 5, 2], [0, 2]], [[0, 1, 2, 3, 2], [0, 2], [0, 7, 2], [0, 2]], 2);
        Assert.Equal(5 + 12, batch.TokenCount);
        Assert.Equal(2 * 3 + 4 * 5, BatchBuilder.PaddedTokenCount(batch));
    }

    private static IEnumerable<int[]> Ids(JsonElement batch, string name) =>
        batch.GetProperty(name).EnumerateArray().Select(a => a.EnumerateArray().Select(x => x.GetInt32()).ToArray());

    private static IEnumerable<(int, int, string)> Flatten(IEnumerable<SampledGroup[]> plan) =>
        plan.SelectMany(b => b).Select(g => (g.Example, g.Positive, string.Join(",", g.Negatives)));

    private static string Line(string query) => JsonSerializer.Serialize(new { query, pos = new[] { "p" }, neg = new[] { "n" } });

    private static TrainingExample Example(int negatives, int length = 5) =>
        new(new string('q', length), ["p0", "p1"], Enumerable.Range(0, negatives).Select(i => $"n{i}").ToList(), null, null, "test");
}
