using Mono.Unix.Native;

namespace M3.Cli.Infrastructure;

/// <summary>
/// Where an <c>--output</c> path really writes. A regular file (or a new one) is replaced atomically at the end of any
/// symlinks, so the links stay; anything else (a FIFO, <c>/dev/null</c>, a terminal, <c>/dev/stdout</c>) is written
/// through, since renaming a file over it would replace the device or pipe instead of writing to it.
/// </summary>
internal sealed record OutputTarget(string FilePath, bool WriteThrough)
{
    private const int MaxLinks = 40; // Linux's own limit on symlinks followed in one path

    public static OutputTarget Resolve(string path)
    {
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full)) throw new CliError($"output '{path}' is a folder; give a file name");
        if (!IsRegularOrMissing(full)) return new(full, WriteThrough: true);
        return FinalFile(full) is { } final ? new(final, WriteThrough: false) : new(full, WriteThrough: true);
    }

    private static bool IsRegularOrMissing(string path)
    {
        if (OperatingSystem.IsWindows()) return true;
        // stat follows links as the kernel does (including /proc's descriptor links), which .NET cannot do for file types.
        if (Syscall.stat(path, out var status) != 0) return true;
        return (status.st_mode & FilePermissions.S_IFMT) == FilePermissions.S_IFREG;
    }

    /// <summary>
    /// The file a chain of symlinks ends at; null when the chain passes a link in /proc, which names an open descriptor
    /// (<c>/dev/stdout</c> → <c>/proc/self/fd/1</c>) whose file belongs to whoever opened it, not to us to replace.
    /// </summary>
    private static string? FinalFile(string path)
    {
        for (var hop = 0; hop < MaxLinks; hop++)
        {
            if (new FileInfo(path).LinkTarget is not { } link) return path;
            if (path.StartsWith("/proc/", StringComparison.Ordinal)) return null;
            path = Path.GetFullPath(link, Path.GetDirectoryName(path)!);
        }
        throw new CliError($"output '{path}': more than {MaxLinks} symbolic links in a row");
    }
}
