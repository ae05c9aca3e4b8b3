using System.CommandLine;
using System.Text.Encodings.Web;
using System.Text.Json;
using M3.Cli.Infrastructure;
using M3.Tokenization;

namespace M3.Cli.Commands;

/// <summary><c>m3 tokenize</c>: texts → XLM-RoBERTa token ids and tokens, one JSON line per text.</summary>
public static class TokenizeCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model")
        {
            Description = "Checkpoint folder with tokenizer.json or sentencepiece.bpe.model",
            Required = true,
        };
        var input = new Option<string?>("--input")
        {
            Description = "JSON Lines file, one {\"text\": ...} object per line ('-' for stdin)",
        };
        var output = new Option<string?>("--output")
        {
            Description = "Output JSON Lines file of {\"ids\": [...], \"tokens\": [...]}, same order as the input (default: stdout)",
        };
        var maxLength = new Option<int?>("--max-length")
        {
            Description = "Maximum tokens per text, <s> and </s> included (default: the model's model_max_length, 8192 for BGE-M3). "
                          + "Longer texts are truncated as the reference does: the first N-2 content tokens are kept.",
        };
        var text = new Argument<string?>("TEXT")
        {
            Description = "A single text to tokenize instead of --input",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var command = new Command("tokenize", "Tokenize texts into XLM-RoBERTa token ids exactly as BGE-M3's reference tokenizer does")
        {
            model, input, output, maxLength, text,
        };
        command.SetAction(pr => CommandRunner.Run(() =>
            Execute(pr.GetValue(model)!, pr.GetValue(input), pr.GetValue(output), pr.GetValue(maxLength), pr.GetValue(text))));
        return command;
    }

    private static int Execute(string modelArg, string? inputPath, string? outputPath, int? maxLength, string? text)
    {
        if ((inputPath == null) == (text == null)) throw new CliError("give either --input FILE or a TEXT argument (exactly one)");
        if (maxLength < 2) throw new CliError($"--max-length must be at least 2 (room for <s> and </s>), got {maxLength}");
        var tokenizer = XlmRobertaTokenizer.Load(ModelLocator.Resolve(modelArg));
        var texts = text != null
            ? [text]
            : JsonLinesReader.Read(inputPath!).Select(line => line.Value.RequireString("text", inputPath!, line.Line));
        using var outFile = new OutputFile(outputPath);
        foreach (var t in texts)
        {
            WriteLine(outFile.Writer, tokenizer.Encode(t, maxLength));
        }
        outFile.Commit();
        return 0;
    }

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static void WriteLine(TextWriter writer, TokenizedText result)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, WriterOptions))
        {
            json.WriteStartObject();
            json.WriteStartArray("ids");
            foreach (int id in result.Ids) json.WriteNumberValue(id);
            json.WriteEndArray();
            json.WriteStartArray("tokens");
            foreach (var token in result.Tokens) json.WriteStringValue(token);
            json.WriteEndArray();
            json.WriteEndObject();
        }
        writer.Write(System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
        writer.Write('\n');
    }
}
