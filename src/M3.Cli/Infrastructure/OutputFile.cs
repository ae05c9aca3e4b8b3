using System.Text;

namespace M3.Cli.Infrastructure;

/// <summary>
/// Output that is either stdout or a file written atomically: lines go to a temp file beside the target,
/// which replaces the target only on <see cref="Commit"/>, so a failure never leaves a half-written file.
/// </summary>
internal sealed class OutputFile : IDisposable
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
        _target = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(_target)!;
        if (!Directory.Exists(dir)) throw new CliError($"output folder '{dir}' does not exist");
        _temp = Path.Combine(dir, $".{Path.GetFileName(_target)}.{Environment.ProcessId}.tmp");
        Writer = new StreamWriter(_temp, false, new UTF8Encoding(false)) { NewLine = "\n" };
    }

    /// <summary>True when writing to the terminal/stdout rather than a file.</summary>
    public bool IsStdout => _target == null;

    public void Commit()
    {
        Writer.Flush();
        Writer.Dispose();
        if (_temp != null) File.Move(_temp, _target!, overwrite: true);
        _committed = true;
    }

    public void Dispose()
    {
        if (_committed) return;
        Writer.Dispose();
        if (_temp != null && File.Exists(_temp)) File.Delete(_temp);
    }
}
