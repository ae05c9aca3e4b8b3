using Spectre.Console;

namespace M3.Cli.Infrastructure;

/// <summary>A Spectre.Console progress bar on stderr, shown only when stderr is an interactive terminal.</summary>
internal static class ProgressBar
{
    public static bool Enabled => !Console.IsErrorRedirected && Environment.GetEnvironmentVariable("CI") == null;

    /// <summary>Runs <paramref name="work"/> with an <see cref="IProgress{T}"/> that advances a bar of <paramref name="total"/> units.</summary>
    public static T Run<T>(string description, long total, Func<IProgress<int>?, T> work) =>
        RunWithStatus(description, total, bar => work(bar == null ? null : new Reporter<int>(n => bar.Report((n, null)))));

    /// <summary>
    /// Like <see cref="Run{T}"/>, with a status text (e.g. loss, learning rate, throughput) shown beside the bar:
    /// each report advances the bar and replaces the status when it has one.
    /// </summary>
    public static T RunWithStatus<T>(string description, long total, Func<IProgress<(int Advance, string? Status)>?, T> work)
    {
        if (!Enabled || total <= 0) return work(null);
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        T result = default!;
        console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(description, maxValue: total);
                result = work(new Reporter<(int Advance, string? Status)>(r =>
                {
                    if (r.Status != null) task.Description = $"{description} {Markup.Escape(r.Status)}";
                    task.Increment(r.Advance);
                }));
                task.Value = total;
            });
        return result;
    }

    /// <summary>Reports on the calling thread, in order (Progress&lt;T&gt; would post them to the thread pool, where a late one could outlive the bar).</summary>
    private sealed class Reporter<TValue>(Action<TValue> report) : IProgress<TValue>
    {
        public void Report(TValue value) => report(value);
    }
}
