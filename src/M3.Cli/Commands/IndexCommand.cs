using System.CommandLine;
using System.Text.Json;
using M3.Cli.Infrastructure;
using M3.Retrieval;

namespace M3.Cli.Commands;

/// <summary><c>m3 index add|delete|info</c>: build and maintain a retrieval index folder.</summary>
internal static class IndexCommand
{
    public static Command Create()
    {
        var command = new Command("index", "Create and maintain a hybrid retrieval index (dense, sparse, ColBERT) in a folder");
        command.Subcommands.Add(Add());
        command.Subcommands.Add(Delete());
        command.Subcommands.Add(Info());
        return command;
    }

    private static Option<string> IndexOption() => new("--index") { Description = "Index folder", Required = true };

    private static Command Add()
    {
        var index = IndexOption();
        var model = new Option<string>("--model") { Description = "Checkpoint folder or hub id (recorded in a new index; must match an existing one)", Required = true };
        var input = new Option<string>("--input") { Description = "JSON Lines of {\"id\", \"text\", \"metadata\"} or BEIR corpus lines {\"_id\", \"title\", \"text\"}", Required = true };
        var batch = new Option<int>("--batch-size") { Description = "Documents per committed batch", DefaultValueFactory = _ => 256 };
        var passages = new Option<int?>("--passage-tokens") { Description = "New index only: split documents longer than N tokens into overlapping passages (scores aggregate per document by max)" };
        var overlap = new Option<int>("--passage-overlap") { Description = "New index only: tokens shared by consecutive passages", DefaultValueFactory = _ => 32 };
        var half = new Option<bool>("--colbert-float16") { Description = "New index only: store ColBERT vectors as float16 (half the size; not exact)" };
        var precision = new PrecisionOption();
        var command = new Command("add", "Encode documents and add them to the index, one committed transaction per batch") { index, model, input, batch, passages, overlap, half, precision.Option };
        command.SetAction((pr, ct) => CommandRunner.RunAsync(ct =>
        {
            var path = pr.GetValue(input)!;
            int batchSize = pr.GetValue(batch);
            if (batchSize < 1) throw new CliError($"--batch-size must be at least 1, got {batchSize}");
            var lines = JsonLinesReader.Read(path).Select(l => ReadDocument(l.Value, path, l.Line)).ToList();
            using var encoder = EncoderLoader.Load(pr.GetValue(model)!, new M3.Core.Encoding.M3EncoderOptions { Precision = precision.GetValue(pr) }, ct);
            var options = new IndexOptions { PassageTokens = pr.GetValue(passages), PassageOverlap = pr.GetValue(overlap), ColbertFloat16 = pr.GetValue(half) };
            // A local model folder is recorded absolute, so searches from any working directory find it.
            var modelArg = pr.GetValue(model)!;
            var recorded = Directory.Exists(modelArg) ? Path.GetFullPath(modelArg) : modelArg;
            using var ix = M3Index.OpenOrCreate(pr.GetValue(index)!, recorded, encoder.HiddenSize, options);
            ProgressBar.Run("indexing", lines.Count, progress =>
            {
                for (int start = 0; start < lines.Count; start += batchSize)
                    ix.Add(lines.GetRange(start, Math.Min(batchSize, lines.Count - start)), encoder, progress, ct);
                return 0;
            });
            var (docs, _) = ix.Count();
            Console.Error.WriteLine($"added {lines.Count} documents; the index holds {docs}");
            return 0;
        }, ct));
        return command;
    }

    /// <summary>A document line: our format (id, text, metadata) or BEIR's corpus (_id, title, text; title prepended).</summary>
    private static IndexDocument ReadDocument(JsonElement e, string path, int line)
    {
        var idProp = e.TryGetProperty("id", out var id) ? id : e.TryGetProperty("_id", out var beirId) ? beirId : default;
        if (idProp.ValueKind is not (JsonValueKind.String or JsonValueKind.Number))
            throw new CliError($"{path}:{line}: expected an \"id\" (or BEIR \"_id\") string or number");
        var text = e.RequireString("text", path, line);
        if (e.TryGetProperty("title", out var title) && title.ValueKind == JsonValueKind.String && title.GetString() is { Length: > 0 } t)
            text = t + " " + text;
        string? metadata = null;
        if (e.TryGetProperty("metadata", out var m))
        {
            if (m.ValueKind != JsonValueKind.Object) throw new CliError($"{path}:{line}: \"metadata\" must be a JSON object");
            metadata = m.GetRawText();
        }
        return new IndexDocument(idProp.ToString(), text, metadata);
    }

    private static Command Delete()
    {
        var index = IndexOption();
        var id = new Option<string>("--id") { Description = "Document id", Required = true };
        var command = new Command("delete", "Delete a document (all its passages) from the index") { index, id };
        command.SetAction((pr, ct) => CommandRunner.RunAsync(ct =>
        {
            using var ix = M3Index.Open(pr.GetValue(index)!);
            if (!ix.Delete(pr.GetValue(id)!)) throw new CliError($"no document with id '{pr.GetValue(id)}' in {pr.GetValue(index)}");
            return 0;
        }, ct));
        return command;
    }

    private static Command Info()
    {
        var index = IndexOption();
        var command = new Command("info", "Print the index's model, sizes and options as JSON") { index };
        command.SetAction((pr, ct) => CommandRunner.RunAsync(ct =>
        {
            var dir = pr.GetValue(index)!;
            using var ix = M3Index.Open(dir);
            var (docs, passages) = ix.Count();
            long bytes = new DirectoryInfo(dir).EnumerateFiles().Sum(f => f.Length);
            JsonLineWriter.WriteLine(Console.Out, json =>
            {
                json.WriteStartObject();
                json.WriteString("model", ix.Model);
                json.WriteNumber("hidden_size", ix.HiddenSize);
                json.WriteNumber("documents", docs);
                json.WriteNumber("passages", passages);
                json.WriteNumber("bytes", bytes);
                json.WriteString("colbert", ix.Options.ColbertFloat16 ? "float16" : "float32");
                if (ix.Options.PassageTokens is { } p) { json.WriteNumber("passage_tokens", p); json.WriteNumber("passage_overlap", ix.Options.PassageOverlap); }
                json.WriteEndObject();
            });
            return 0;
        }, ct));
        return command;
    }
}
