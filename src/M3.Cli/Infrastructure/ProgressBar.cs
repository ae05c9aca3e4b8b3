using Spectre.Console;

namespace M3.Cli.Infrastructure;

/// <summary>A Spectre.Console progress bar on stderr, shown only when stderr is an interactive terminal.</summary>
public static class ProgressBar
{
    public static bool Enabled => !Console.IsErrorRedirected && Environment.GetEnvironmentVariable("CI") == null;

    /// <summary>Runs <paramref name="work"/> with an <see cref="IProgress{T}"/> that advances a bar of <paramref name="total"/> units.</summary>
    public static T Run<T>(string description, long total, Func<IProgress<int>?, T> work)
    {
        if (!Enabled || total <= 0) return work(null);
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        T result = default!;
        console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(description, maxValue: total);
                result = work(new Progress<int>(n => task.Increment(n)));
                task.Value = total;
            });
        return result;
    }

    /// <summary>
    /// Like <see cref="Run{T}"/>, with a status text (e.g. loss, learning rate, throughput) shown beside the bar:
    /// each report advances the bar and replaces the status.
    /// </summary>
    public static T RunWithStatus<T>(string description, long total, Func<IProgress<(int Advance, string Status)>?, T> work)
    {
        if (!Enabled || total <= 0) return work(null);
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        T result = default!;
        console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(description, maxValue: total);
                result = work(new Reporter(r =>
                {
                    task.Description = $"{description} {Markup.Escape(r.Status)}";
                    task.Increment(r.Advance);
                }));
                task.Value = total;
            });
        return result;
    }

    /// <summary>Reports on the calling thread, in order (Progress&lt;T&gt; would post them to the thread pool).</summary>
    private sealed class Reporter(Action<(int Advance, string Status)> report) : IProgress<(int Advance, string Status)>
    {
        public void Report((int Advance, string Status) value) => report(value);
    }
}
