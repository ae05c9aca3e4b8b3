namespace M3.Hub;

/// <summary>
/// Turns a model argument (a local folder, or a hub id <c>owner/name[@revision]</c>) into a local checkpoint folder:
/// the cached snapshot when it already has every file the encoder needs (no network at all), else after downloading
/// the missing files into the shared Hugging Face cache.
/// </summary>
public static class HubModelResolver
{
    /// <summary>
    /// The full path of <paramref name="modelArgument"/> when it is an existing folder; else, parsed as a hub id, its
    /// snapshot folder in the cache, downloading the encoder's files it lacks.
    /// </summary>
    /// <param name="modelArgument">A local checkpoint folder, or <c>owner/name[@revision]</c>.</param>
    /// <param name="options">Endpoint, token and cache; null: <see cref="HubOptions.FromEnvironment()"/>.</param>
    /// <param name="progress">Bytes downloaded, per file and in total; not called when nothing is downloaded.</param>
    /// <param name="ct">Stops a download between reads; what was downloaded stays and is resumed next time.</param>
    /// <exception cref="HubException">Neither a folder nor a hub id; the model or a file does not exist; offline with
    /// files missing; a download failed after <see cref="HubOptions.MaxRetries"/> attempts or did not check out.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled.</exception>
    public static async Task<string> ResolveAsync(string modelArgument, HubOptions? options = null,
                                                  IProgress<DownloadProgress>? progress = null, CancellationToken ct = default)
    {
        if (Directory.Exists(modelArgument)) return Path.GetFullPath(modelArgument);
        if (!HubModelId.TryParse(modelArgument, out var id))
            throw new HubException($"'{modelArgument}' is neither an existing folder nor a hub model id (owner/name or owner/name@revision)");
        return await ResolveAsync(id, options, progress, ct);
    }

    /// <summary>The snapshot folder of <paramref name="id"/> in the cache, downloading the encoder's files it lacks.</summary>
    /// <param name="id">The model and revision.</param>
    /// <param name="options">Endpoint, token and cache; null: <see cref="HubOptions.FromEnvironment()"/>.</param>
    /// <param name="progress">Bytes downloaded, per file and in total; not called when nothing is downloaded.</param>
    /// <param name="ct">Stops a download between reads; what was downloaded stays and is resumed next time.</param>
    /// <exception cref="HubException">The model or a file does not exist; offline with files missing; a download failed
    /// after <see cref="HubOptions.MaxRetries"/> attempts or did not check out.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled.</exception>
    public static async Task<string> ResolveAsync(HubModelId id, HubOptions? options = null,
                                                  IProgress<DownloadProgress>? progress = null, CancellationToken ct = default)
    {
        options ??= HubOptions.FromEnvironment();
        var cache = new HubCache(options.CacheDirectory, id);
        var cachedCommit = cache.ReadCommit(id.Revision);
        if (cachedCommit != null && EncoderFiles.MissingIn(f => cache.HasSnapshotFile(cachedCommit, f)).Count == 0)
            return cache.SnapshotFolder(cachedCommit);
        if (options.Offline) throw OfflineError(id, cache, cachedCommit);

        using var client = new HubClient(options);
        var (commit, files) = await PlanAsync(client, id, ct);
        cache.WriteRef(id.Revision, commit);

        var toFetch = files.Where(f => !cache.HasSnapshotFile(commit, f.FileName) && !File.Exists(cache.BlobPath(f.Etag))).ToList();
        var totalSize = toFetch.Sum(f => f.Size);
        if (toFetch.Count > 0) DiskSpace.EnsureAvailable(options.CacheDirectory, totalSize - PartialBytes(cache, toFetch));

        var downloader = new BlobDownloader(client, cache, options.MaxRetries);
        long doneBefore = 0;
        foreach (var file in files)
        {
            if (cache.HasSnapshotFile(commit, file.FileName)) continue;
            if (toFetch.Contains(file))
            {
                var before = doneBefore;
                await downloader.DownloadAsync(id, file,
                    bytes => progress?.Report(new DownloadProgress(file.FileName, bytes, file.Size, before + bytes, totalSize)), ct);
                doneBefore += file.Size;
            }
            cache.LinkSnapshotFile(commit, file.FileName, file.Etag);
        }
        return cache.SnapshotFolder(commit);
    }

    /// <summary>HEADs each candidate file: the first answer fixes the commit, which every later request then uses.</summary>
    private static async Task<(string Commit, List<RemoteFile> Files)> PlanAsync(HubClient client, HubModelId id, CancellationToken ct)
    {
        string? commit = null;
        var files = new List<RemoteFile>();
        var missing = new List<FileRequirement>();
        foreach (var requirement in EncoderFiles.Requirements)
        {
            var found = false;
            foreach (var name in requirement.Names)
            {
                var file = await client.GetMetadataAsync(id, commit ?? id.Revision, name, ct);
                if (file == null) continue;
                commit ??= file.Commit;
                files.Add(file);
                found = true;
                if (requirement.FirstOnly) break;
            }
            if (!found && requirement.Required) missing.Add(requirement);
        }
        if (missing.Count > 0 || commit == null)
            throw new HubException(
                $"{id} has no {string.Join(", ", missing.Select(m => m.Describe()))}: it is not a BGE-M3 checkpoint (check the id and revision)");
        return (commit, files);
    }

    private static long PartialBytes(HubCache cache, IEnumerable<RemoteFile> files) =>
        files.Select(f => new FileInfo(cache.IncompletePath(f.Etag))).Where(f => f.Exists).Sum(f => f.Length);

    private static HubException OfflineError(HubModelId id, HubCache cache, string? commit)
    {
        var missing = commit == null
            ? EncoderFiles.Requirements.Where(r => r.Required).ToList()
            : EncoderFiles.MissingIn(f => cache.HasSnapshotFile(commit, f));
        var where = commit == null ? $"{id} is not in the cache {cache.RepoFolder}" : $"the cached snapshot {cache.SnapshotFolder(commit)} is incomplete";
        return new HubException(
            $"offline mode is on (HF_HUB_OFFLINE=1) and {where}: missing {string.Join(", ", missing.Select(m => m.Describe()))}; " +
            "unset HF_HUB_OFFLINE to download them, or pass a local folder");
    }
}
