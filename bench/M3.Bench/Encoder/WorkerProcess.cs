using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace M3.Bench.Encoder;

/// <summary>
/// The parent's side of one <see cref="EngineWorker"/>: started once, asked for one timed pass per workload and round, then
/// finished for its report. A worker that fails is disposed and its error kept; the other engines go on.
/// </summary>
internal sealed class WorkerProcess : IDisposable
{
    private static readonly TimeSpan PassTimeout = TimeSpan.FromMinutes(30);

    private readonly Process _process;
    private readonly StringBuilder _stderr = new();

    public string Engine { get; }

    /// <summary>Why the worker stopped answering, or null while it works.</summary>
    public string? Error { get; private set; }

    public WorkerProcess(string engine, IEnumerable<string> arguments)
    {
        Engine = engine;
        var (file, prefix) = SelfCommand();
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in prefix.Concat([EngineWorker.Flag, engine]).Concat(arguments)) info.ArgumentList.Add(a);
        _process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start the {engine} worker");
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_stderr) _stderr.AppendLine(e.Data); };
        _process.BeginErrorReadLine();
    }

    /// <summary>One timed pass over a workload, or null when the worker has failed (see <see cref="Error"/>).</summary>
    public WorkloadRun? Run(string workload) => Ask<WorkloadRun>("run " + workload);

    /// <summary>Ends the worker: its load time, peak RSS and output summaries, or null when it has failed.</summary>
    public EngineReport? Finish()
    {
        var report = Ask<EngineReport>("finish");
        if (report is not null) _process.WaitForExit(PassTimeout);
        return report;
    }

    private T? Ask<T>(string command) where T : class
    {
        if (Error is not null) return null;
        try
        {
            _process.StandardInput.WriteLine(command);
            _process.StandardInput.Flush();
            var read = Task.Run(ReadAnswer);
            if (!read.Wait(PassTimeout)) throw new TimeoutException($"no answer to '{command}' in {PassTimeout.TotalMinutes:F0} min");
            return JsonSerializer.Deserialize<T>(read.Result ?? throw new InvalidOperationException(FirstErrorLine()));
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or TimeoutException or AggregateException or JsonException)
        {
            Error = e is AggregateException { InnerException: { } inner } ? inner.Message : e.Message;
            Kill();
            return null;
        }
    }

    /// <summary>The next answer line without its prefix, or null when the worker's stdout ends first.</summary>
    private string? ReadAnswer()
    {
        while (_process.StandardOutput.ReadLine() is { } line)
            if (line.StartsWith(EngineWorker.AnswerPrefix, StringComparison.Ordinal)) return line[EngineWorker.AnswerPrefix.Length..];
        return null;
    }

    private string FirstErrorLine()
    {
        _process.WaitForExit(TimeSpan.FromSeconds(10));
        string stderr;
        lock (_stderr) stderr = _stderr.ToString();
        return stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .FirstOrDefault(l => l.StartsWith("Unhandled exception", StringComparison.Ordinal) || l.Contains("Exception:", StringComparison.Ordinal))
            ?? stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? "worker exited without output";
    }

    private void Kill()
    {
        try { if (!_process.HasExited) _process.Kill(entireProcessTree: true); }
        catch (InvalidOperationException) { } // already gone
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }

    /// <summary>How to start this benchmark again as a worker: the apphost directly, or dotnet with the entry assembly.</summary>
    internal static (string File, string[] Prefix) SelfCommand()
    {
        var process = Environment.ProcessPath ?? throw new InvalidOperationException("cannot locate the running executable");
        return Path.GetFileNameWithoutExtension(process) == "dotnet"
            ? (process, [typeof(WorkerProcess).Assembly.Location])
            : (process, []);
    }
}
