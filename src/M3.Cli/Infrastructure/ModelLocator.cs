namespace M3.Cli.Infrastructure;

/// <summary>Turns a <c>--model</c> argument into a local checkpoint folder.</summary>
public static class ModelLocator
{
    public static string Resolve(string model)
    {
        if (Directory.Exists(model)) return Path.GetFullPath(model);
        throw new CliError($"model folder '{model}' does not exist (expected a BGE-M3 checkpoint folder with config.json and tokenizer files)");
    }
}
