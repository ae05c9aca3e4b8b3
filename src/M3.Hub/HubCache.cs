namespace M3.Hub;

/// <summary>
/// One repo's folder in the Hugging Face cache, laid out exactly as huggingface_hub lays it out so both tools share it:
/// <c>models--owner--name/blobs/&lt;etag&gt;</c> (content), <c>refs/&lt;revision&gt;</c> (commit hash),
/// <c>snapshots/&lt;commit&gt;/&lt;file&gt;</c> (relative symlink to the blob).
/// </summary>
internal sealed class HubCache(string cacheDirectory, HubModelId id)
{
    public string CacheDirectory { get; } = cacheDirectory;

    public string RepoFolder { get; } = Path.Combine(cacheDirectory, "models--" + id.Owner + "--" + id.Name);

    public string BlobPath(string etag) => Path.Combine(RepoFolder, "blobs", etag);

    public string IncompletePath(string etag) => BlobPath(etag) + ".incomplete";

    /// <summary>huggingface_hub's lock file for a blob: <c>.locks/models--owner--name/&lt;etag&gt;.lock</c> beside the repo folders.</summary>
    public string LockPath(string etag) => Path.Combine(CacheDirectory, ".locks", Path.GetFileName(RepoFolder), etag + ".lock");

    public string SnapshotFolder(string commit) => Path.Combine(RepoFolder, "snapshots", commit);

    public string SnapshotFile(string commit, string fileName) => Path.Combine(SnapshotFolder(commit), fileName);

    private string RefPath(string revision) => Path.Combine(RepoFolder, "refs", revision);

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
