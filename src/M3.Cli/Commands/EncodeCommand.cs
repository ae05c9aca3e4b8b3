using System.CommandLine;
using M3.Cli.Infrastructure;
using M3.Core.Inference;
using M3.Core.Serialization;

namespace M3.Cli.Commands;

/// <summary><c>m3 encode</c>: texts → dense, sparse and ColBERT representations, one JSON line per text.</summary>
internal static class EncodeCommand
{
    // Texts are encoded a chunk at a time so that memory stays bounded on large inputs (ColBERT output is big).
    private const int ChunkSize = 1024;

    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Checkpoint folder or Hugging Face hub id (owner/name[@revision])", Required = true };
        var input = new Option<string>("--input") { Description = "JSON Lines file, one {\"text\": ...} object per line ('-' for stdin)", Required = true };
        var output = new Option<string?>("--output") { Description = "Output JSON Lines file (default: stdout); one line per input line, same order" };
        var dense = new Option<bool>("--dense") { Description = "Output the dense vector" };
        var sparse = new Option<bool>("--sparse") { Description = "Output lexical weights {\"token id\": weight}" };
        var colbert = new Option<bool>("--colbert") { Description = "Output ColBERT vectors" };
        var mcls = new Option<bool>("--mcls") { Description = "Dense vector by MCLS (an extra <s> every 256 tokens, states averaged), for long texts" };
        var maxLength = new Option<int>("--max-length") { Description = "Maximum tokens per text, <s> and </s> included; longer texts keep their first N-2 tokens", DefaultValueFactory = _ => M3EncodeOptions.Default.MaxLength };
        var batchSize = new Option<int>("--batch-size") { Description = "Maximum texts per forward pass", DefaultValueFactory = _ => M3EncodeOptions.Default.BatchSize };
        var precision = new PrecisionOption();
        var command = new Command("encode", "Encode texts into BGE-M3's dense, sparse and ColBERT representations (all three when none is named)")
        {
            model, input, output, dense, sparse, colbert, mcls, maxLength, batchSize, precision.Option,
        };
        command.SetAction((pr, ct) => CommandRunner.RunAsync(ct =>
        {
            var outputs = (pr.GetValue(dense) ? M3Outputs.Dense : 0) | (pr.GetValue(sparse) ? M3Outputs.Sparse : 0) | (pr.GetValue(colbert) ? M3Outputs.Colbert : 0);
            var options = EncodeArguments.Create(outputs == 0 ? M3Outputs.All : outputs, pr.GetValue(maxLength), pr.GetValue(batchSize), pr.GetValue(mcls));
            return Execute(pr.GetValue(model)!, pr.GetValue(input)!, pr.GetValue(output), options, precision.GetValue(pr), ct);
        }, ct));
        return command;
    }

    /// <summary>An input line's "id" (string or number), passed through so the output can be indexed with 'm3 index add --representations'.</summary>
    private static string? Id(System.Text.Json.JsonElement line) =>
        line.TryGetProperty("id", out var id) && id.ValueKind is System.Text.Json.JsonValueKind.String or System.Text.Json.JsonValueKind.Number ? id.ToString() : null;

    private static int Execute(string modelArg, string inputPath, string? outputPath, M3EncodeOptions options, M3Precision precision, CancellationToken ct)
    {
        var lines = JsonLinesReader.Read(inputPath).Select(l => (Text: l.Value.RequireString("text", inputPath, l.Line), Id: Id(l.Value))).ToList();
        var texts = lines.Select(l => l.Text).ToList();
        using var encoder = EncoderLoader.Load(modelArg, new M3LoadOptions { Precision = precision }, ct);
        using var outFile = new OutputFile(outputPath);
        ProgressBar.Run("encoding", texts.Count, progress =>
        {
            for (int start = 0; start < texts.Count; start += ChunkSize)
            {
                var chunk = texts.GetRange(start, Math.Min(ChunkSize, texts.Count - start));
                var encoded = encoder.Encode(chunk, options, progress, ct);
                for (int i = 0; i < encoded.Count; i++)
                    JsonLineWriter.WriteLine(outFile.Writer, json => EmbeddingJson.Write(json, encoded[i], id: lines[start + i].Id));
            }
            return 0;
        });
        outFile.Commit();
        return 0;
    }
}
