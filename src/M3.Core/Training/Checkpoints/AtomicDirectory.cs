namespace M3.Core.Training.Checkpoints;

/// <summary>
/// Writes a folder through a temp folder beside it that is renamed into place (replacing any folder there), so a crash
/// never leaves a half-written model or cache that a later run would take as complete.
/// </summary>
internal static class AtomicDirectory
{
    public static void Write(string target, Action<string> write)
    {
        target = Path.GetFullPath(target);
        var temp = $"{target}.tmp-{Guid.NewGuid().ToString("N")[..8]}";
        Directory.CreateDirectory(temp);
        try
        {
            write(temp);
            if (Directory.Exists(target)) Directory.Delete(target, recursive: true);
            Directory.Move(temp, target);
        }
        finally
        {
            if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        }
    }
}
