namespace M3.Bench.Encoder;

/// <summary>Cached folders the benchmark builds once (the random checkpoint, the plain export), always complete or absent.</summary>
internal static class CachedFolder
{
    /// <summary>
    /// Builds <paramref name="folder"/> under a temporary name and renames it into place, so an interrupted run never
    /// leaves a half-built folder that a later run would take as complete.
    /// </summary>
    public static void Build(string folder, Action<string> build)
    {
        var temp = folder + ".tmp-" + Environment.ProcessId;
        if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        Directory.CreateDirectory(temp);
        try
        {
            build(temp);
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
            Directory.Move(temp, folder);
        }
        finally
        {
            if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        }
    }
}
