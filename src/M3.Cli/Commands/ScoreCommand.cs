using System.CommandLine;
using M3.Cli.Infrastructure;
using M3.Core.Scoring;
using M3.Core.Serialization;

namespace M3.Cli.Commands;

/// <summary><c>m3 score</c>: query/passage pairs → FlagEmbedding's five scores, one JSON line per pair.</summary>
internal static class ScoreCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Checkpoint folder or Hugging Face hub id (owner/name[@revision])", Required = true };
        var input = new Option<string>("--input") { Description = "JSON Lines file of {\"query\": ..., \"passage\": ...} ('-' for stdin)", Required = true };
        var output = new Option<string?>("--output") { Description = "Output JSON Lines file (default: stdout)" };
        var weights = new Option<string>("--weights") { Description = "Weights of dense, sparse and ColBERT in the combined scores", DefaultValueFactory = _ => "0.4,0.2,0.4" };
        var maxLength = new Option<int>("--max-length") { Description = "Maximum tokens per text", DefaultValueFactory = _ => Core.Inference.M3EncodeOptions.Default.MaxLength };
        var precision = new PrecisionOption();
        var command = new Command("score", "Score query/passage pairs: dense, sparse, colbert, sparse+dense, colbert+sparse+dense")
        {
            model, input, output, weights, maxLength, precision.Option,
        };
        command.SetAction((pr, ct) => CommandRunner.RunAsync(ct =>
            Execute(pr.GetValue(model)!, pr.GetValue(input)!, pr.GetValue(output), WeightsArgument.Parse(pr.GetValue(weights)!), pr.GetValue(maxLength),
                precision.GetValue(pr), ct), ct));
        return command;
    }

    private static int Execute(string modelArg, string inputPath, string? outputPath, HybridWeights weights, int maxLength, Core.Inference.M3Precision precision, CancellationToken ct)
    {
        var pairs = JsonLinesReader.Read(inputPath)
            .Select(l => (Query: l.Value.RequireString("query", inputPath, l.Line), Passage: l.Value.RequireString("passage", inputPath, l.Line)))
            .ToList();
        using var encoder = EncoderLoader.Load(modelArg, new Core.Inference.M3LoadOptions { Precision = precision }, ct);
        var options = EncodeArguments.Create(Core.Inference.M3Outputs.All, maxLength, Core.Inference.M3EncodeOptions.Default.BatchSize);
        var texts = pairs.SelectMany(p => new[] { p.Query, p.Passage }).ToList();
        var embeddings = ProgressBar.Run("encoding", texts.Count, progress => encoder.Encode(texts, options, progress, ct));
        using var outFile = new OutputFile(outputPath);
        for (int i = 0; i < pairs.Count; i++)
        {
            var s = M3Scores.All(embeddings[2 * i], embeddings[2 * i + 1], weights);
            JsonLineWriter.WriteLine(outFile.Writer, json => EmbeddingJson.WriteScores(json, s));
        }
        outFile.Commit();
        return 0;
    }
}
