using System.CommandLine;
using M3.Cli.Infrastructure;
using M3.Core.Scoring;
using M3.Retrieval;
using M3.Retrieval.Evaluation;

namespace M3.Cli.Commands;

/// <summary><c>m3 eval</c>: nDCG@10, Recall@100 and MRR@10 per retrieval mode on BEIR/MIRACL-format queries and qrels.</summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var index = new Option<string>("--index") { Description = "Index folder holding the corpus (build it with 'm3 index add --input corpus.jsonl')", Required = true };
        var queries = new Option<string>("--queries") { Description = "queries.jsonl ({\"_id\", \"text\"} per line)", Required = true };
        var qrels = new Option<string>("--qrels") { Description = "qrels TSV (query-id, corpus-id, score; header optional)", Required = true };
        var modes = new Option<string>("--modes") { Description = "Comma-separated modes", DefaultValueFactory = _ => string.Join(",", Evaluator.AllModes) };
        var weights = new Option<string>("--weights") { Description = "Hybrid weights of dense, sparse, ColBERT", DefaultValueFactory = _ => "0.4,0.2,0.4" };
        var precision = new PrecisionOption();
        var model = new Option<string?>("--model") { Description = "Model to encode queries (default: the one recorded in the index)" };
        var command = new Command("eval", "Evaluate retrieval per mode: one JSON line {mode, ndcg@10, recall@100, mrr@10, queries} each") { index, queries, qrels, modes, weights, model, precision.Option };
        command.SetAction((pr, ct) => CommandRunner.RunAsync(ct =>
        {
            var modeList = pr.GetValue(modes)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            foreach (var m in modeList)
                if (!Evaluator.AllModes.Contains(m)) throw new CliError($"--modes: unknown mode '{m}'; expected some of {string.Join(", ", Evaluator.AllModes)}");
            var hybridWeights = WeightsArgument.Parse(pr.GetValue(weights)!);
            var q = BeirData.ReadQueries(pr.GetValue(queries)!);
            var judgements = BeirData.ReadQrels(pr.GetValue(qrels)!);
            using var ix = M3Index.Open(pr.GetValue(index)!);
            using var encoder = EncoderLoader.Load(pr.GetValue(model) ?? ix.Model, new M3.Core.Inference.M3LoadOptions { Precision = precision.GetValue(pr) }, ct);
            var results = ProgressBar.Run("evaluating", (long)q.Count * modeList.Length, progress =>
                Evaluator.Run(ix, encoder, q, judgements, modeList, hybridWeights, progress, ct));
            foreach (var r in results)
                JsonLineWriter.WriteLine(Console.Out, json =>
                {
                    json.WriteStartObject();
                    json.WriteString("mode", r.Mode);
                    json.WriteNumber("ndcg@10", Math.Round(r.Ndcg10, 5));
                    json.WriteNumber("recall@100", Math.Round(r.Recall100, 5));
                    json.WriteNumber("mrr@10", Math.Round(r.Mrr10, 5));
                    json.WriteNumber("queries", r.Queries);
                    json.WriteEndObject();
                });
            return 0;
        }, ct));
        return command;
    }
}
