using System.Security.Cryptography;
using System.Text;
using M3.Core.Checkpoint;

namespace M3.Core.Onnx;

/// <summary>
/// Built graphs on disk, keyed by the checkpoint's content and the graph version, so a second start skips the build.
/// An entry is built in a temporary folder and renamed into place: a crash mid-build never leaves an entry that looks complete.
/// Each entry is sealed (<see cref="GraphSeal"/>) and checked before use; a damaged one is rebuilt, and the rebuild reported.
/// </summary>
internal static class GraphCache
{
    public const string ModelFileName = "model.onnx", DataFileName = "model.onnx.data";
    private const string KeysFolder = ".keys";

    /// <summary>The default cache folder: $M3_CACHE, else $XDG_CACHE_HOME/m3sharp, else ~/.cache/m3sharp; graphs under "graphs".</summary>
    public static string DefaultDirectory
    {
        get
        {
            var root = Environment.GetEnvironmentVariable("M3_CACHE");
            if (string.IsNullOrEmpty(root))
            {
                var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
                root = Path.Combine(string.IsNullOrEmpty(xdg)
                    ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache") : xdg, "m3sharp");
            }
            return Path.Combine(root, "graphs");
        }
    }

    /// <summary>Returns the path of model.onnx for <paramref name="checkpoint"/>, building it when the cache has no entry.</summary>
    /// <param name="variant">Distinguishes graphs built differently from the same weights (e.g. precision).</param>
    /// <param name="log">Told when a damaged entry is found and rebuilt.</param>
    public static string GetOrBuild(M3Checkpoint checkpoint, string? cacheDirectory, string variant,
                                    Action<M3Checkpoint, string, string> build, Action<string> log)
    {
        var root = cacheDirectory ?? DefaultDirectory;
        var key = $"{ContentKeyIn(checkpoint, root)[..32]}-v{M3Graph.Version}-{variant}";
        var entry = Path.Combine(root, key);
        var model = Path.Combine(entry, ModelFileName);
        if (Directory.Exists(entry))
        {
            if (GraphSeal.FindDamage(entry) is not { } damage) return model;
            log($"the cached ONNX graph in {entry} is damaged ({damage}); rebuilding it");
            Discard(entry, root, key);
        }

        Directory.CreateDirectory(root);
        var temp = Path.Combine(root, $".{key}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        Directory.CreateDirectory(temp);
        try
        {
            build(checkpoint, Path.Combine(temp, ModelFileName), Path.Combine(temp, DataFileName));
            GraphSeal.Write(temp);
            try
            {
                Directory.Move(temp, entry);
            }
            catch (IOException) when (Directory.Exists(entry))
            {
                // Another process built the same entry meanwhile; theirs is as good as ours.
            }
        }
        catch (IOException e)
        {
            throw new IOException($"cannot write the ONNX graph cache in '{root}' ({e.Message}); free disk space or set M3_CACHE to another folder", e);
        }
        finally
        {
            if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        }
        return model;
    }

    /// <summary>Moves a damaged entry out of the way (atomically, as other processes may be looking at it), then deletes it.</summary>
    private static void Discard(string entry, string root, string key)
    {
        var trash = Path.Combine(root, $".{key}.{Environment.ProcessId}.{Guid.NewGuid():N}.damaged");
        try
        {
            Directory.Move(entry, trash);
        }
        catch (DirectoryNotFoundException)
        {
            return; // another process discarded it first
        }
        Directory.Delete(trash, recursive: true);
    }

    /// <summary>
    /// The checkpoint's content key, remembered per file identity (path, size, modification time): hashing every byte of a
    /// full-size checkpoint takes seconds, which would be most of a cached start. Any change to a file changes its identity.
    /// </summary>
    public static string ContentKey(M3Checkpoint checkpoint, string? cacheDirectory) => ContentKeyIn(checkpoint, cacheDirectory ?? DefaultDirectory);

    private static string ContentKeyIn(M3Checkpoint checkpoint, string root)
    {
        var identity = string.Join("\n", checkpoint.ContentFiles.Select(f =>
        {
            var info = new FileInfo(f);
            return $"{info.FullName}|{info.Length}|{info.LastWriteTimeUtc.Ticks}";
        }));
        var memo = Path.Combine(root, KeysFolder, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(identity)))[..32]);
        if (File.Exists(memo) && File.ReadAllText(memo).Trim() is { Length: 64 } known) return known;

        var key = checkpoint.ComputeContentKey();
        Directory.CreateDirectory(Path.GetDirectoryName(memo)!);
        var temp = $"{memo}.{Environment.ProcessId}.tmp";
        File.WriteAllText(temp, key);
        File.Move(temp, memo, overwrite: true);
        return key;
    }
}
