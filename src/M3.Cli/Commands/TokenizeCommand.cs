using System.CommandLine;
using M3.Cli.Infrastructure;
using M3.Core.Serialization;
using M3.Tokenization;

namespace M3.Cli.Commands;

/// <summary><c>m3 tokenize</c>: texts → XLM-RoBERTa token ids and tokens, one JSON line per text.</summary>
internal static class TokenizeCommand
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
        command.SetAction((pr, ct) => CommandRunner.RunAsync(ct =>
            Execute(pr.GetValue(model)!, pr.GetValue(input), pr.GetValue(output), pr.GetValue(maxLength), pr.GetValue(text), ct), ct));
        return command;
    }

    private static int Execute(string modelArg, string? inputPath, string? outputPath, int? maxLength, string? text, CancellationToken ct)
    {
        if ((inputPath == null) == (text == null)) throw new CliError("give either --input FILE or a TEXT argument (exactly one)");
        if (maxLength < 2) throw new CliError($"--max-length must be at least 2 (room for <s> and </s>), got {maxLength}");
        var tokenizer = XlmRobertaTokenizer.Load(ModelLocator.Resolve(modelArg, ct));
        var texts = text != null
            ? [("TEXT", text)]
            : JsonLinesReader.Read(inputPath!).Select(line => ($"{inputPath}:{line.Line}", line.Value.RequireString("text", inputPath!, line.Line)));
        using var outFile = new OutputFile(outputPath);
        foreach (var (where, t) in texts)
        {
            ct.ThrowIfCancellationRequested();
            var result = tokenizer.Encode(t, maxLength);
            if (result.Truncated)
            {
                int max = maxLength ?? tokenizer.ModelMaxLength;
                Console.Error.WriteLine($"warning: {where}: text is longer than {max} tokens; kept its first {max - 2} tokens between <s> and </s>, as the reference truncates");
            }
            WriteLine(outFile.Writer, result);
        }
        outFile.Commit();
        return 0;
    }

    private static void WriteLine(TextWriter writer, TokenizedText result) =>
        JsonLineWriter.WriteLine(writer, json => EmbeddingJson.WriteTokens(json, result));
}
