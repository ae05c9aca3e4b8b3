using System.Text.Json;
using M3.Core.Inference;
using M3.Core.Representations;
using M3.Core.Scoring;
using M3.Retrieval;
using M3.Retrieval.Storage;

namespace M3.Bench.Index;

/// <summary>
/// How far stored ColBERT precision moves rankings: ColBERT (MaxSim) top 10 with float16 and int8 rows against float32,
/// on the fixture model's real outputs and on <see cref="SyntheticCorpus"/> rows of BGE-M3's width.
/// usage: index --colbert-agreement [--model DIR]
/// </summary>
internal static class ColbertAgreement
{
    public static int Run(string[] args)
    {
        var model = Args.String(args, "--model") ?? Path.Combine(Args.RepoRoot(), "..", "shared", "fixtures", "tiny-m3");
        var texts = File.ReadLines(Path.Combine(model, "tokenizer_golden.jsonl"))
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("text").GetString()!).Where(t => t.Length > 20).Distinct().Take(430).ToList();
        using var encoder = M3Encoder.Load(model);
        var encoded = encoder.Encode(texts, M3EncodeOptions.Default with { Outputs = M3Outputs.Colbert });
        Report("fixture", encoded.Take(400).Select(e => e.Colbert!).ToList(), encoded.Skip(400).Select(e => e.Colbert!).ToList());

        var corpus = new SyntheticCorpus(80);
        var rng = new Random(3);
        Report("synthetic", Enumerable.Range(0, 500).Select(i => corpus.Passage(i).Colbert!).ToList(),
            Enumerable.Range(0, 20).Select(_ => corpus.QueryFor(rng.Next(500)).Colbert!).ToList());
        return 0;
    }

    private static void Report(string name, List<MultiVector> passages, List<MultiVector> queries)
    {
        var exact = queries.Select(q => Top(q, passages)).ToList();
        foreach (var precision in new[] { ColbertPrecision.Float16, ColbertPrecision.Int8 })
        {
            var stored = passages.Select(p => ColbertCodec.Decode(ColbertCodec.Encode(p, precision), precision, p.Dimension)).ToList();
            double overlap = 0, top1 = 0;
            for (int q = 0; q < queries.Count; q++)
            {
                var approx = Top(queries[q], stored);
                overlap += approx.Intersect(exact[q]).Count() / 10.0;
                if (approx[0] == exact[q][0]) top1++;
            }
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                data = name, precision = precision.ToString().ToLowerInvariant(), dimension = passages[0].Dimension, passages = passages.Count, queries = queries.Count,
                top10_overlap = Math.Round(overlap / queries.Count, 4), top1_agreement = Math.Round(top1 / queries.Count, 4),
            }));
        }
    }

    private static List<int> Top(MultiVector query, List<MultiVector> passages) =>
        [.. passages.Select((p, i) => (i, s: M3Scores.Colbert(query, p))).OrderByDescending(x => x.s).ThenBy(x => x.i).Take(10).Select(x => x.i)];
}
