namespace M3.Hub;

/// <summary>
/// One repo's folder in the Hugging Face cache, laid out exactly as huggingface_hub lays it out so both tools share it:
/// <c>models--owner--name/blobs/&lt;etag&gt;</c> (content), <c>refs/&lt;revision&gt;</c> (commit hash),
/// <c>snapshots/&lt;commit&gt;/&lt;file&gt;</c> (relative symlink to the blob).
/// </summary>
internal sealed class HubCache
{
    private readonly string _repoFolderName;

    public HubCache(string cacheDirectory, HubModelId id)
    {
        CacheDirectory = Path.GetFullPath(cacheDirectory);
        _repoFolderName = "models--" + id.Owner + "--" + id.Name;
        RepoFolder = Inside(CacheDirectory, "repo", id.RepoId, _repoFolderName);
    }

    public string CacheDirectory { get; }

    public string RepoFolder { get; }

    public string BlobPath(string etag) => Inside(RepoFolder, "etag", etag, "blobs", etag);

    public string IncompletePath(string etag) => Inside(RepoFolder, "etag", etag, "blobs", etag + ".incomplete");

    /// <summary>huggingface_hub's lock file for a blob: <c>.locks/models--owner--name/&lt;etag&gt;.lock</c> beside the repo folders.</summary>
    public string LockPath(string etag) => Inside(CacheDirectory, "etag", etag, ".locks", _repoFolderName, etag + ".lock");

    public string SnapshotFolder(string commit) => Inside(RepoFolder, "commit", commit, "snapshots", commit);

    public string SnapshotFile(string commit, string fileName) => Inside(SnapshotFolder(commit), "file name", fileName, fileName);

    private string RefPath(string revision) => Inside(RepoFolder, "revision", revision, "refs", revision);

    /// <summary>
    /// The one place cache paths are made: the commit, etag and revision come from the hub or the user, and an absolute
    /// or ".."-climbing value must never name a file outside the folder it belongs in (the check is lexical, as
    /// huggingface_hub's, so a cache folder that is itself a symlink still works).
    /// </summary>
    private static string Inside(string root, string what, string value, params string[] parts)
    {
        var path = Path.GetFullPath(Path.Combine([root, .. parts]));
        if (!path.StartsWith(root.TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new HubException(
                $"the {what} '{value}' would put a file outside {root} (at {path}); refusing it: " +
                "check the model id, and that HF_ENDPOINT is a Hugging Face hub you trust");
        return path;
    }

    /// <summary>The commit a revision points to: the revision itself for a commit hash, else refs/&lt;revision&gt; when cached.</summary>
    public string? ReadCommit(string revision)
    {
        if (HubModelId.CommitHashRegex().IsMatch(revision)) return revision;
        var path = RefPath(revision);
        if (!File.Exists(path)) return null;
        var commit = File.ReadAllText(path).Trim();
        return HubModelId.CommitHashRegex().IsMatch(commit) ? commit : null;
    }

    public void WriteRef(string revision, string commit)
    {
        if (revision == commit) return;
        var path = RefPath(revision);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = path + ".tmp-" + Guid.NewGuid().ToString("N");
        File.WriteAllText(temp, commit);
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>True when the snapshot has the file and, for a symlink, its blob is there too.</summary>
    public bool HasSnapshotFile(string commit, string fileName)
    {
        // File.Exists is true for a dangling symlink on Unix, so follow the link and look at its target.
        var info = new FileInfo(SnapshotFile(commit, fileName));
        if (info.LinkTarget == null) return info.Exists;
        return info.ResolveLinkTarget(returnFinalTarget: true) is { Exists: true };
    }

    /// <summary>Points snapshots/&lt;commit&gt;/&lt;file&gt; at the blob with a relative symlink, as huggingface_hub does.</summary>
    public void LinkSnapshotFile(string commit, string fileName, string etag)
    {
        var pointer = SnapshotFile(commit, fileName);
        var folder = Path.GetDirectoryName(pointer)!;
        Directory.CreateDirectory(folder);
        var blob = BlobPath(etag);
        // Link under a temporary name, then rename over the pointer: another process linking the same file at the
        // same time (or a dangling link left behind) is replaced atomically instead of failing.
        var temp = pointer + ".tmp-" + Guid.NewGuid().ToString("N");
        try
        {
            File.CreateSymbolicLink(temp, Path.GetRelativePath(folder, blob));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Windows without developer mode cannot create symlinks; huggingface_hub then keeps a plain copy in the snapshot too.
            File.Copy(blob, temp);
        }
        File.Move(temp, pointer, overwrite: true);
    }
}
