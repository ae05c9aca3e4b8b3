using System.CommandLine;
using M3.Cli.Infrastructure;
using M3.Core.Scoring;
using M3.Retrieval;

namespace M3.Cli.Commands;

/// <summary><c>m3 search</c>: one JSON line per hit, best first.</summary>
internal static class SearchCommand
{
    public static Command Create()
    {
        var index = new Option<string>("--index") { Description = "Index folder", Required = true };
        var query = new Option<string>("--query") { Description = "Query text", Required = true };
        var mode = new Option<SearchMode>("--mode") { Description = "dense, sparse, colbert, hybrid (colbert+sparse+dense) or rrf", DefaultValueFactory = _ => SearchMode.Hybrid };
        var topK = new Option<int>("--top-k") { Description = "Number of hits", DefaultValueFactory = _ => 10 };
        var weights = new Option<string>("--weights") { Description = "Hybrid weights of dense, sparse, ColBERT", DefaultValueFactory = _ => "0.4,0.2,0.4" };
        var exact = new Option<bool>("--exact") { Description = "No approximation anywhere: every document scored in every mode" };
        var precision = new PrecisionOption();
        var model = new Option<string?>("--model") { Description = "Model to encode the query (default: the one recorded in the index)" };
        var command = new Command("search", "Search an index; prints {\"id\": ..., \"score\": ...} per hit, best first") { index, query, mode, topK, weights, exact, model, precision.Option };
        command.SetAction((pr, ct) => CommandRunner.RunAsync(ct =>
        {
            int k = pr.GetValue(topK);
            if (k < 1) throw new CliError($"--top-k must be at least 1, got {k}");
            var options = new SearchOptions
            {
                Mode = pr.GetValue(mode),
                TopK = k,
                Weights = WeightsArgument.Parse(pr.GetValue(weights)!),
                Exact = pr.GetValue(exact),
            };
            using var ix = M3Index.Open(pr.GetValue(index)!);
            using var encoder = EncoderLoader.Load(pr.GetValue(model) ?? ix.Model, new M3.Core.Inference.M3LoadOptions { Precision = precision.GetValue(pr) }, ct);
            foreach (var hit in ix.Search(pr.GetValue(query)!, encoder, options, ct))
                JsonLineWriter.WriteLine(Console.Out, json =>
                {
                    json.WriteStartObject();
                    json.WriteString("id", hit.Id);
                    json.WriteNumber("score", hit.Score);
                    json.WriteEndObject();
                });
            return 0;
        }, ct));
        return command;
    }
}
