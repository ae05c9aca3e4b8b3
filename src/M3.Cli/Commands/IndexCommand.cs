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
        var model = new Option<string?>("--model") { Description = "Checkpoint folder or hub id (recorded in a new index; must be the checkpoint of an existing one). Required with --input and for a new index" };
        var input = new Option<string?>("--input") { Description = "JSON Lines of {\"id\", \"text\", \"metadata\"} or BEIR corpus lines {\"_id\", \"title\", \"text\"}" };
        var representations = new Option<string?>("--representations") { Description = "JSON Lines from 'm3 encode' with ids: {\"id\", \"dense\", \"sparse\", \"colbert\", optional \"text\" and \"metadata\"}; stored as given, no encoder needed" };
        var batch = new Option<int>("--batch-size") { Description = "Documents per committed batch", DefaultValueFactory = _ => 256 };
        var passages = new Option<int?>("--passage-tokens") { Description = "New index only: split documents longer than N tokens into overlapping passages (scores aggregate per document by max)" };
        var overlap = new Option<int>("--passage-overlap") { Description = "New index only: tokens shared by consecutive passages", DefaultValueFactory = _ => 32 };
        var half = new Option<bool>("--colbert-float16") { Description = "New index only: same as --colbert-precision float16" };
        var colbertPrecision = new Option<ColbertPrecision?>("--colbert-precision") { Description = "New index only: store ColBERT vectors as float32 (exact), float16 (half) or int8 (a quarter, scaled per vector)" };
        var noColbert = new Option<bool>("--no-colbert") { Description = "New index only: store no ColBERT vectors (colbert mode unavailable; hybrid = dense+sparse)" };
        var precision = new PrecisionOption();
        var command = new Command("add", "Encode documents (or take encoded ones) and add them to the index, one committed transaction per batch")
        {
            index, model, input, representations, batch, passages, overlap, half, colbertPrecision, noColbert, precision.Option,
        };
        command.SetAction((pr, ct) => CommandRunner.RunAsync(ct =>
        {
            int batchSize = pr.GetValue(batch);
            if (batchSize < 1) throw new CliError($"--batch-size must be at least 1, got {batchSize}");
            var (inputPath, encodedPath) = (pr.GetValue(input), pr.GetValue(representations));
            if ((inputPath == null) == (encodedPath == null)) throw new CliError("give exactly one of --input (texts to encode) and --representations (encoded documents)");
            var newIndexOptions = new Option[] { passages, overlap, half, colbertPrecision, noColbert };
            IndexOptions? options = null;
            if (newIndexOptions.Any(o => pr.GetResult(o) is { Implicit: false }))
            {
                if (pr.GetValue(noColbert) && (pr.GetValue(half) || pr.GetValue(colbertPrecision) != null))
                    throw new CliError("--no-colbert contradicts --colbert-precision/--colbert-float16");
                options = new IndexOptions
                {
                    PassageTokens = pr.GetValue(passages),
                    PassageOverlap = pr.GetValue(overlap),
                    Colbert = pr.GetValue(noColbert) ? ColbertPrecision.None : pr.GetValue(colbertPrecision) ?? (pr.GetValue(half) ? ColbertPrecision.Float16 : ColbertPrecision.Float32),
                };
                try { options.Validate(); }
                catch (ArgumentException e) { throw new CliError($"--passage-tokens/--passage-overlap: {e.Message}"); }
                if (encodedPath != null && options.PassageTokens != null) throw new CliError("--passage-tokens applies to texts encoded here, not to --representations");
            }
            var dir = pr.GetValue(index)!;
            var modelArg = pr.GetValue(model);
            bool exists = File.Exists(Path.Combine(dir, "index.db"));
            if (modelArg == null && (inputPath != null || !exists))
                throw new CliError(inputPath != null ? "--model is required to encode --input" : $"--model is required to create a new index in '{dir}'");
            if (exists) RefuseDamaged(dir);

            if (encodedPath != null)
            {
                var documents = ReadAll(encodedPath, ReadEncoded);
                string? key = null;
                int hidden = 0;
                if (modelArg != null)
                {
                    // The checkpoint names the width and identity of the vectors; its weights are not loaded.
                    using var checkpoint = M3.Core.Checkpoint.M3Checkpoint.Open(ModelLocator.Resolve(modelArg, ct));
                    key = M3.Core.Onnx.GraphCache.ContentKey(checkpoint, null);
                    hidden = checkpoint.Config.HiddenSize;
                }
                using var ix = modelArg == null ? M3Index.Open(dir) : M3Index.OpenOrCreate(dir, Recorded(modelArg), hidden, options, key);
                ix.CheckOptions(options);
                foreach (var (line, d) in documents) CheckEncoded(d, ix, encodedPath, line);
                ProgressBar.Run("indexing", documents.Count, progress =>
                {
                    for (int start = 0; start < documents.Count; start += batchSize)
                    {
                        var slice = documents.GetRange(start, Math.Min(batchSize, documents.Count - start));
                        ix.AddEncoded(slice.Select(d => d.Doc).ToList(), key);
                        progress?.Report(slice.Count);
                    }
                    return 0;
                });
                Console.Error.WriteLine($"added {documents.Count} documents; the index holds {ix.Count().Documents}");
                return 0;
            }

            var lines = ReadAll(inputPath!, ReadDocument);
            using var encoder = EncoderLoader.Load(modelArg!, new M3.Core.Inference.M3LoadOptions { Precision = precision.GetValue(pr) }, ct);
            using var index2 = M3Index.OpenOrCreate(dir, Recorded(modelArg!), encoder.HiddenSize, options, encoder.ContentKey);
            ProgressBar.Run("indexing", lines.Count, progress =>
            {
                for (int start = 0; start < lines.Count; start += batchSize)
                    index2.Add(lines.GetRange(start, Math.Min(batchSize, lines.Count - start)).Select(l => l.Doc).ToList(), encoder, progress, ct);
                return 0;
            });
            Console.Error.WriteLine($"added {lines.Count} documents; the index holds {index2.Count().Documents}");
            return 0;
        }, ct));
        return command;
    }

    /// <summary>A local model folder is recorded absolute, so searches from any working directory find it.</summary>
    private static string Recorded(string modelArg) => Directory.Exists(modelArg) ? Path.GetFullPath(modelArg) : modelArg;

    /// <summary>Adding to a damaged database could report success while earlier documents are unreadable: check first.</summary>
    private static void RefuseDamaged(string dir)
    {
        using var ix = M3Index.Open(dir);
        var check = ix.IntegrityCheck(quick: true);
        if (check != "ok")
            throw new CliError($"{Path.Combine(dir, "index.db")}: the index database is damaged ({check.Split('\n')[0]}); rebuild the index from your documents");
    }

    /// <summary>
    /// Reads every line first: a bad line or an id given twice fails the command before anything is committed, whatever
    /// the batch size (a repeated id is an error rather than a silent replace, since one of the two would be lost).
    /// </summary>
    private static List<(int Line, T Doc)> ReadAll<T>(string path, Func<JsonElement, string, int, T> read) where T : class
    {
        var result = new List<(int, T)>();
        var firstLine = new Dictionary<string, int>();
        foreach (var (line, value) in JsonLinesReader.Read(path))
        {
            var doc = read(value, path, line);
            var id = doc switch { IndexDocument d => d.Id, EncodedDocument e => e.Id, _ => throw new InvalidOperationException() };
            if (!firstLine.TryAdd(id, line))
                throw new CliError($"{path}:{line}: document id '{id}' was already given on line {firstLine[id]}; ids must be unique within one input (nothing was added)");
            result.Add((line, doc));
        }
        return result;
    }

    private static string ReadId(JsonElement e, string path, int line)
    {
        var idProp = e.TryGetProperty("id", out var id) ? id : e.TryGetProperty("_id", out var beirId) ? beirId : default;
        if (idProp.ValueKind is not (JsonValueKind.String or JsonValueKind.Number) || idProp.ToString().Length == 0)
            throw new CliError($"{path}:{line}: expected an \"id\" (or BEIR \"_id\") string or number");
        return idProp.ToString();
    }

    private static string? ReadMetadata(JsonElement e, string path, int line)
    {
        if (!e.TryGetProperty("metadata", out var m)) return null;
        if (m.ValueKind != JsonValueKind.Object) throw new CliError($"{path}:{line}: \"metadata\" must be a JSON object");
        return m.GetRawText();
    }

    /// <summary>A line of 'm3 encode' output with an id: the representations as EmbeddingJson writes them.</summary>
    private static EncodedDocument ReadEncoded(JsonElement e, string path, int line)
    {
        var id = ReadId(e, path, line);
        string text = e.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "";
        M3.Core.Representations.M3Embedding embedding;
        try { embedding = M3.Core.Serialization.EmbeddingJson.Read(e); }
        catch (Exception x) when (x is InvalidOperationException or FormatException or ArgumentException or OverflowException)
        {
            throw new CliError($"{path}:{line}: unreadable representations ({x.Message}); expected 'm3 encode' output: \"dense\": [floats], \"sparse\": {{\"token id\": weight}}, \"colbert\": [[floats], ...]");
        }
        return new EncodedDocument(id, text, embedding, ReadMetadata(e, path, line));
    }

    private static void CheckEncoded(EncodedDocument d, M3Index ix, string path, int line)
    {
        var e = d.Embedding;
        if (e.Dense is not { } dense || dense.Length != ix.HiddenSize)
            throw new CliError($"{path}:{line}: \"dense\" must hold {ix.HiddenSize} numbers (the index's width), got {e.Dense?.Length.ToString() ?? "none"}");
        if (e.Sparse == null) throw new CliError($"{path}:{line}: \"sparse\" weights are missing (encode with all outputs or --dense --sparse)");
        if (ix.Options.Colbert != ColbertPrecision.None && (e.Colbert is not { } c || c.Dimension != ix.HiddenSize || c.Count == 0))
            throw new CliError($"{path}:{line}: \"colbert\" must be non-empty rows of {ix.HiddenSize} numbers (or create the index with --no-colbert)");
    }

    /// <summary>A document line: our format (id, text, metadata) or BEIR's corpus (_id, title, text; title prepended).</summary>
    private static IndexDocument ReadDocument(JsonElement e, string path, int line)
    {
        var id = ReadId(e, path, line);
        var text = e.RequireString("text", path, line);
        if (e.TryGetProperty("title", out var title) && title.ValueKind == JsonValueKind.String && title.GetString() is { Length: > 0 } t)
            text = t + " " + text;
        return new IndexDocument(id, text, ReadMetadata(e, path, line));
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
                json.WriteString("colbert", ix.Options.Colbert.ToString().ToLowerInvariant());
                if (ix.Options.PassageTokens is { } p) { json.WriteNumber("passage_tokens", p); json.WriteNumber("passage_overlap", ix.Options.PassageOverlap); }
                json.WriteEndObject();
            });
            return 0;
        }, ct));
        return command;
    }
}
