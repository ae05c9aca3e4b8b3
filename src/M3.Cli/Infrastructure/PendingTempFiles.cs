using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace M3.Cli.Infrastructure;

/// <summary>
/// Temp files not yet renamed into place, removed when a signal (Ctrl+C, SIGTERM, SIGHUP, SIGQUIT) ends the process:
/// those end it without unwinding, so no <c>finally</c> or <c>Dispose</c> would run.
/// </summary>
internal static class PendingTempFiles
{
    private static readonly ConcurrentDictionary<string, bool> Paths = new();
    private static readonly Lock Gate = new();
    private static List<PosixSignalRegistration>? _registrations;

    public static void Add(string path)
    {
        lock (Gate)
        {
            _registrations ??= [.. new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP, PosixSignal.SIGQUIT }
                .Select(signal => PosixSignalRegistration.Create(signal, DeleteAll))];
        }
        Paths[path] = true;
    }

    public static void Remove(string path) => Paths.TryRemove(path, out _);

    /// <summary>Deletes the files and leaves the signal's default action (ending the process) in place.</summary>
    private static void DeleteAll(PosixSignalContext context)
    {
        foreach (var path in Paths.Keys)
        {
            try
            {
                File.Delete(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Best effort while the process is going down; the name starts with '.' and ends in .tmp, easy to find.
            }
        }
    }
}
