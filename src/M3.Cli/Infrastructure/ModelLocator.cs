using M3.Hub;
using Spectre.Console;

namespace M3.Cli.Infrastructure;

/// <summary>
/// Turns a <c>--model</c> argument into a local checkpoint folder: a folder as is, or a hub id <c>owner/name[@revision]</c>
/// resolved through the shared Hugging Face cache (downloading what is missing, with one progress bar per file on stderr).
/// </summary>
internal static class ModelLocator
{
    public static string Resolve(string model, CancellationToken ct = default) => Resolve(model, HubOptions.FromEnvironment(), ct);

    internal static string Resolve(string model, HubOptions options, CancellationToken ct = default)
    {
        if (Directory.Exists(model)) return Path.GetFullPath(model);
        if (!HubModelId.TryParse(model, out _))
            throw new CliError(
                $"model '{model}' is neither a folder nor a hub id: expected a BGE-M3 checkpoint folder (config.json, tokenizer and weights) " +
                "or owner/name[@revision] such as BAAI/bge-m3");
        try
        {
            return ProgressBar.Enabled ? ResolveWithBars(model, options, ct) : ResolveWithLines(model, options, ct);
        }
        catch (HubException e)
        {
            throw new CliError($"{e.Message} ('{model}' is not a local folder, so it was read as a hub id)");
        }
    }

    /// <summary>Without a terminal (logs, CI): one line per file started, so a long download is not silent.</summary>
    private static string ResolveWithLines(string model, HubOptions options, CancellationToken ct)
    {
        var started = new HashSet<string>();
        var progress = new Reporter(p =>
        {
            lock (started)
            {
                if (started.Add(p.FileName)) Console.Error.WriteLine($"downloading {model}: {p.FileName} ({p.FileSize:N0} bytes)");
            }
        });
        return HubModelResolver.ResolveAsync(model, options, progress, ct).GetAwaiter().GetResult();
    }

    private static string ResolveWithBars(string model, HubOptions options, CancellationToken ct)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        var folder = "";
        console.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(),
                     new TransferSpeedColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var bars = new Dictionary<string, ProgressTask>();
                var progress = new Reporter(p =>
                {
                    lock (bars)
                    {
                        if (!bars.TryGetValue(p.FileName, out var bar))
                            bars[p.FileName] = bar = ctx.AddTask(p.FileName, maxValue: Math.Max(1, p.FileSize));
                        bar.Value = p.FileBytes;
                    }
                });
                folder = HubModelResolver.ResolveAsync(model, options, progress, ct).GetAwaiter().GetResult();
            });
        return folder;
    }

    /// <summary>Reports at once on the downloading thread: Progress&lt;T&gt; would post late reports after the bars are gone.</summary>
    private sealed class Reporter(Action<DownloadProgress> report) : IProgress<DownloadProgress>
    {
        public void Report(DownloadProgress value) => report(value);
    }
}
