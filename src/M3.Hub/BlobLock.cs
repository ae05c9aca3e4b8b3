namespace M3.Hub;

/// <summary>
/// Holds huggingface_hub's per-blob lock file while one process writes <c>blobs/&lt;etag&gt;.incomplete</c>, so two downloads
/// of the same file (ours or Python's: on Unix both take an exclusive flock) never write into one partial file.
/// </summary>
internal sealed class BlobLock : IDisposable
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);
    private readonly FileStream _stream;

    private BlobLock(FileStream stream) => _stream = stream;

    public static async Task<BlobLock> AcquireAsync(HubCache cache, string etag, CancellationToken ct)
    {
        var path = cache.LockPath(etag);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        while (true)
        {
            try
            {
                return new BlobLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
            }
            catch (IOException e) when (!DiskSpace.IsDiskFull(e) && File.Exists(path))
            {
                // Held by another download of the same blob: wait for it (then the blob is usually there already).
                await Task.Delay(PollInterval, ct);
            }
        }
    }

    public void Dispose() => _stream.Dispose();
}
