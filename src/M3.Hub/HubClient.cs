using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace M3.Hub;

/// <summary>
/// The hub's HTTP protocol: HEAD for metadata (X-Repo-Commit, X-Linked-Etag/ETag, X-Linked-Size) and GET for content,
/// both on <c>{endpoint}/{repo}/resolve/{revision}/{file}</c>. Redirects are followed by hand, because the token must be
/// dropped when a redirect leaves the endpoint's host (the CDN must never see it), and because metadata is read from the
/// hub's own redirect response, not from the CDN's.
/// </summary>
internal sealed partial class HubClient : IDisposable
{
    private const int MaxRedirects = 10;
    // BGE-M3's largest file is 2.3 GB; a declared size far beyond any encoder's is a lie that would only fill the disk.
    private const long MaxFileSize = 1L << 40;
    private readonly HttpClient _http;
    private readonly Uri _endpoint;
    private readonly string? _token;

    public HubClient(HubOptions options)
    {
        _endpoint = new Uri(options.Endpoint.TrimEnd('/') + "/");
        _token = options.Token;
        _http = new HttpClient(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = TimeSpan.FromSeconds(30),
        }, disposeHandler: true)
        {
            Timeout = TimeSpan.FromSeconds(100),
        };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("m3sharp/1.0");
    }

    public string Endpoint => _endpoint.ToString().TrimEnd('/');

    public Uri ResolveUri(HubModelId id, string revision, string fileName) =>
        new(_endpoint, $"{id.Owner}/{id.Name}/resolve/{Uri.EscapeDataString(revision)}/{Uri.EscapeDataString(fileName)}");

    /// <summary>The file's metadata, or null when the revision does not have this file.</summary>
    public async Task<RemoteFile?> GetMetadataAsync(HubModelId id, string revision, string fileName, CancellationToken ct)
    {
        var uri = ResolveUri(id, revision, fileName);
        for (var hop = 0; ; hop++)
        {
            using var request = NewRequest(HttpMethod.Head, uri);
            // The size must be the stored size, not a compressed transfer size.
            request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("identity"));
            using var response = await SendForMetadataAsync(request, ct);
            if (IsRedirect(response.StatusCode) && response.Headers.Location is { IsAbsoluteUri: false } relative && hop < MaxRedirects)
            {
                // Relative redirects are the hub's own (a renamed repo); absolute ones go to the CDN and already carry the metadata.
                uri = new Uri(uri, relative);
                continue;
            }
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                ThrowIfRepoOrRevisionMissing(response, id, revision);
                return null;
            }
            ThrowIfDenied(response, id);
            if (!response.IsSuccessStatusCode && !IsRedirect(response.StatusCode))
                throw new HubException($"{uri} answered {(int)response.StatusCode} {response.ReasonPhrase}; try again later");
            return ReadMetadata(response, fileName, uri);
        }
    }

    /// <summary>GET following every redirect, with a Range header when resuming; the caller disposes the response.</summary>
    public async Task<HttpResponseMessage> GetAsync(Uri uri, long rangeStart, CancellationToken ct)
    {
        for (var hop = 0; ; hop++)
        {
            using var request = NewRequest(HttpMethod.Get, uri);
            request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("identity"));
            if (rangeStart > 0) request.Headers.Range = new RangeHeaderValue(rangeStart, null);
            var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            if (IsRedirect(response.StatusCode) && response.Headers.Location is { } location && hop < MaxRedirects)
            {
                response.Dispose();
                uri = new Uri(uri, location);
                continue;
            }
            return response;
        }
    }

    public static void ThrowIfDenied(HttpResponseMessage response, HubModelId id)
    {
        if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            throw new HubException(
                $"{id.RepoId} answered {(int)response.StatusCode} {response.ReasonPhrase}: the repo is gated or private, or does not exist " +
                $"(check the id); set HF_TOKEN to a token with access to {id.RepoId} (and accept its terms on the hub if it is gated)");
    }

    private HttpRequestMessage NewRequest(HttpMethod method, Uri uri)
    {
        var request = new HttpRequestMessage(method, uri);
        if (_token != null && SameAuthority(uri, _endpoint))
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _token);
        return request;
    }

    private async Task<HttpResponseMessage> SendForMetadataAsync(HttpRequestMessage request, CancellationToken ct)
    {
        try
        {
            return await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        }
        catch (Exception e) when (IsNetworkFailure(e, ct))
        {
            throw new HubException(
                $"cannot reach {Endpoint} ({e.Message}); check the network or proxy, or set HF_HUB_OFFLINE=1 to use the models already in the cache", e);
        }
    }

    private static void ThrowIfRepoOrRevisionMissing(HttpResponseMessage response, HubModelId id, string revision)
    {
        var code = Header(response, "X-Error-Code");
        if (code == "RepoNotFound")
            throw new HubException($"repository {id.RepoId} not found on the hub (404); check the id");
        if (code == "RevisionNotFound")
            throw new HubException($"revision '{revision}' not found in {id.RepoId} (404); check the id and the part after '@'");
    }

    private static RemoteFile ReadMetadata(HttpResponseMessage response, string fileName, Uri uri)
    {
        var commit = Header(response, "X-Repo-Commit")
                     ?? throw new HubException($"{uri} sent no X-Repo-Commit header: is HF_ENDPOINT a Hugging Face hub?");
        if (!HubModelId.CommitHashRegex().IsMatch(commit))
            throw Untrusted(uri, $"an X-Repo-Commit of '{commit}', which is not a commit hash (40 hex digits)");
        var etag = Header(response, "X-Linked-Etag") ?? Header(response, "ETag")
                   ?? throw new HubException($"{uri} sent no ETag header, so the download cannot be verified or cached");
        var blobName = NormalizeEtag(etag);
        if (!BlobNameRegex().IsMatch(blobName))
            throw Untrusted(uri, $"an etag of '{etag}', which is neither a git sha1 nor a SHA-256 (40 or 64 hex digits)");
        var sizeText = Header(response, "X-Linked-Size");
        var size = sizeText != null && long.TryParse(sizeText, out var linked) ? linked : response.Content.Headers.ContentLength;
        if (size is null or < 0) throw new HubException($"{uri} sent no file size (X-Linked-Size or Content-Length)");
        if (size > MaxFileSize)
            throw Untrusted(uri, $"a size of {size} bytes for {fileName}, more than any encoder file needs ({MaxFileSize} bytes)");
        return new RemoteFile(fileName, commit, blobName, size.Value);
    }

    private static HubException Untrusted(Uri uri, string what) =>
        new($"{uri} sent {what}; refusing it: check that HF_ENDPOINT is a Hugging Face hub you trust");

    // Same normalization as huggingface_hub: weak-etag prefix and quotes are not part of the blob name.
    internal static string NormalizeEtag(string etag)
    {
        var e = etag.Trim();
        if (e.StartsWith("W/", StringComparison.Ordinal)) e = e[2..];
        return e.Trim('"');
    }

    /// <summary>The hub names blobs by the git blob sha1 (small files) or the LFS SHA-256 (large ones): nothing else is a blob name.</summary>
    [GeneratedRegex(@"^([0-9a-f]{40}|[0-9a-f]{64})\z")]
    private static partial Regex BlobNameRegex();

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault()
        : response.Content.Headers.TryGetValues(name, out var contentValues) ? contentValues.FirstOrDefault()
        : null;

    internal static bool IsNetworkFailure(Exception e, CancellationToken ct) =>
        !ct.IsCancellationRequested && e is HttpRequestException or SocketException or TaskCanceledException or IOException
        && e is not HubException;

    private static bool IsRedirect(HttpStatusCode status) => (int)status is >= 300 and < 400 and not 304;

    private static bool SameAuthority(Uri a, Uri b) =>
        Uri.Compare(a, b, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0;

    public void Dispose() => _http.Dispose();
}
