using System.Text;

namespace M3.Cli.Infrastructure;

/// <summary>
/// Output that is stdout, a non-regular file written through (see <see cref="OutputTarget"/>), or a regular file written
/// atomically: lines go to a temp file beside the target, which replaces it only on <see cref="Commit"/>, so a failure,
/// a full disk or Ctrl+C never leaves a half-written file, nor the temp file.
/// </summary>
public sealed class OutputFile : IDisposable
{
    private readonly string? _target;
    private readonly string? _temp;
    private bool _committed;

    public TextWriter Writer { get; }

    public OutputFile(string? path)
    {
        if (string.IsNullOrEmpty(path) || path == "-")
        {
            Writer = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false)) { AutoFlush = false, NewLine = "\n" };
            return;
        }
        var target = OutputTarget.Resolve(path);
        _target = target.FilePath;
        if (target.WriteThrough)
        {
            Writer = new StreamWriter(Open(() => new FileStream(_target, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)), new UTF8Encoding(false)) { NewLine = "\n" };
            return;
        }
        var dir = Path.GetDirectoryName(_target)!;
        if (!Directory.Exists(dir)) throw new CliError($"output folder '{dir}' does not exist");
        _temp = Path.Combine(dir, $".{Path.GetFileName(_target)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        PendingTempFiles.Add(_temp);
        Writer = new StreamWriter(Open(() => new FileStream(_temp, FileMode.CreateNew, FileAccess.Write, FileShare.None)), new UTF8Encoding(false)) { NewLine = "\n" };
    }

    /// <summary>True when writing to the terminal/stdout rather than a file.</summary>
    public bool IsStdout => _target == null;

    public void Commit()
    {
        try
        {
            Writer.Flush();
            Writer.Dispose();
        }
        catch (IOException e)
        {
            var kept = _temp != null ? $"; {_target} was left as it was" : "";
            throw new CliError($"cannot write {_target ?? "stdout"}: {e.Message}{kept} (free some space if the disk is full)");
        }
        if (_temp != null)
        {
            // The replaced file keeps its permissions, as writing into it would have.
            if (!OperatingSystem.IsWindows() && File.Exists(_target)) File.SetUnixFileMode(_temp, File.GetUnixFileMode(_target));
            File.Move(_temp, _target!, overwrite: true);
            PendingTempFiles.Remove(_temp);
        }
        _committed = true;
    }

    public void Dispose()
    {
        if (_committed) return;
        try
        {
            Writer.Dispose();
        }
        catch (IOException)
        {
            // The output is abandoned anyway (a full disk fails again here); what matters is that the temp file goes.
        }
        finally
        {
            if (_temp != null)
            {
                File.Delete(_temp);
                PendingTempFiles.Remove(_temp);
            }
        }
    }

    private FileStream Open(Func<FileStream> open)
    {
        try
        {
            return open();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliError($"cannot write {_target}: {e.Message}");
        }
    }
}
