using System.Net;
using System.Security.Cryptography;

namespace M3.Hub;

/// <summary>
/// Downloads one file into <c>blobs/&lt;etag&gt;.incomplete</c>, resuming with Range requests when the connection drops,
/// verifies size and SHA-256, then renames it to <c>blobs/&lt;etag&gt;</c>: a blob under its final name is always complete.
/// </summary>
internal sealed class BlobDownloader(HubClient client, HubCache cache, int maxRetries)
{
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(60);

    /// <param name="onBytes">Called with the file's bytes on disk so far (including a resumed part).</param>
    public async Task DownloadAsync(HubModelId id, RemoteFile file, Action<long> onBytes, CancellationToken ct)
    {
        var blob = cache.BlobPath(file.Etag);
        var partial = cache.IncompletePath(file.Etag);
        Directory.CreateDirectory(Path.GetDirectoryName(blob)!);
        using var fileLock = await BlobLock.AcquireAsync(cache, file.Etag, ct);
        if (File.Exists(blob)) return; // another process finished it while we waited for the lock
        var uri = client.ResolveUri(id, file.Commit, file.FileName);
        if (File.Exists(partial) && new FileInfo(partial).Length > file.Size) File.Delete(partial);

        string? lastError = null;
        for (var attempt = 0; ; attempt++)
        {
            var outcome = await TryOnceAsync(id, uri, file, partial, onBytes, ct);
            if (outcome == null) break;
            lastError = outcome;
            if (attempt >= maxRetries)
            {
                var have = File.Exists(partial) ? new FileInfo(partial).Length : 0;
                throw new HubException(
                    $"downloading {file.FileName} of {id.RepoId} failed {attempt + 1} times ({lastError}); " +
                    $"{have} of {file.Size} bytes are kept in {partial}, run again to resume");
            }
            await Task.Delay(TimeSpan.FromMilliseconds(200 * (1 << Math.Min(attempt, 5))), ct);
        }

        Verify(file, partial);
        File.Move(partial, blob, overwrite: true);
    }

    /// <summary>One request; null when the file is complete, else why the transfer broke off (worth a resumed retry).</summary>
    private async Task<string?> TryOnceAsync(HubModelId id, Uri uri, RemoteFile file, string partial, Action<long> onBytes, CancellationToken ct)
    {
        var offset = File.Exists(partial) ? new FileInfo(partial).Length : 0;
        if (offset == file.Size && file.Size > 0) return null;
        HttpResponseMessage response;
        try
        {
            response = await client.GetAsync(uri, offset, ct);
        }
        catch (Exception e) when (HubClient.IsNetworkFailure(e, ct))
        {
            return e.Message;
        }
        using (response)
        {
            if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
            {
                // Our partial file does not fit what the server has: start over.
                File.Delete(partial);
                return "server refused to resume";
            }
            HubClient.ThrowIfDenied(response, id);
            if ((int)response.StatusCode >= 500 || response.StatusCode == HttpStatusCode.TooManyRequests)
                return $"{(int)response.StatusCode} {response.ReasonPhrase}";
            if (!response.IsSuccessStatusCode)
                throw new HubException($"downloading {uri} answered {(int)response.StatusCode} {response.ReasonPhrase}");
            // 200 to a Range request means the server ignored it and sends the whole file: restart cleanly rather than append.
            var append = offset > 0 && response.StatusCode == HttpStatusCode.PartialContent
                         && response.Content.Headers.ContentRange?.From == offset;
            if (!append) offset = 0;
            onBytes(offset);
            return await CopyBodyAsync(response, partial, append, offset, file, onBytes, ct);
        }
    }

    private async Task<string?> CopyBodyAsync(HttpResponseMessage response, string partial, bool append, long offset,
                                              RemoteFile file, Action<long> onBytes, CancellationToken ct)
    {
        if (offset + response.Content.Headers.ContentLength > file.Size)
            throw TooLong(file, partial, $"announces {response.Content.Headers.ContentLength} bytes from byte {offset}");
        // Unbuffered (we write 64 KiB chunks anyway), so a full disk fails in WriteAsync where it is recognized, not in Dispose.
        await using var output = new FileStream(partial, append ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0);
        Stream body;
        try
        {
            body = await response.Content.ReadAsStreamAsync(ct);
        }
        catch (Exception e) when (HubClient.IsNetworkFailure(e, ct))
        {
            return e.Message;
        }
        await using (body)
        {
            var buffer = new byte[1 << 16];
            while (true)
            {
                // One byte past the declared size is enough to know the body is too long, and nothing past it is written.
                var wanted = (int)Math.Min(buffer.Length, file.Size - offset + 1);
                int n;
                using (var readTimeout = CancellationTokenSource.CreateLinkedTokenSource(ct))
                {
                    readTimeout.CancelAfter(ReadTimeout);
                    try
                    {
                        n = await body.ReadAsync(buffer.AsMemory(0, wanted), readTimeout.Token);
                    }
                    catch (Exception e) when (HubClient.IsNetworkFailure(e, ct) || e is OperationCanceledException && !ct.IsCancellationRequested)
                    {
                        return e is OperationCanceledException ? $"no data for {ReadTimeout.TotalSeconds:0} s" : e.Message;
                    }
                }
                if (n == 0) break;
                if (offset + n > file.Size)
                {
                    await output.DisposeAsync();
                    throw TooLong(file, partial, "sends more bytes");
                }
                try
                {
                    await output.WriteAsync(buffer.AsMemory(0, n), ct);
                }
                catch (IOException e) when (DiskSpace.IsDiskFull(e))
                {
                    throw DiskSpace.Error(cache.CacheDirectory, file.Size - offset, e);
                }
                offset += n;
                onBytes(offset);
            }
        }
        return offset < file.Size ? $"connection closed after {offset} of {file.Size} bytes" : null;
    }

    private static HubException TooLong(RemoteFile file, string partial, string what)
    {
        File.Delete(partial);
        return new HubException(
            $"{file.FileName}: the hub declared {file.Size} bytes but the download {what}; the partial file was discarded. " +
            "Run again; if it repeats, check that HF_ENDPOINT is a Hugging Face hub you trust");
    }

    private static void Verify(RemoteFile file, string partial)
    {
        var length = new FileInfo(partial).Length;
        if (length != file.Size)
        {
            File.Delete(partial);
            throw new HubException($"{file.FileName}: downloaded {length} bytes but the hub says {file.Size}; the file was discarded, run again");
        }
        if (!file.HasSha256Etag) return;
        string actual;
        using (var stream = File.OpenRead(partial)) actual = Convert.ToHexStringLower(SHA256.HashData(stream));
        if (actual != file.Etag)
        {
            File.Delete(partial);
            throw new HubException(
                $"{file.FileName}: downloaded content is corrupt (SHA-256 {actual}, the hub says {file.Etag}); the file was discarded, run again to retry");
        }
    }
}
