using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace M3.Hub.Tests;

/// <summary>
/// A Hugging Face hub on loopback (Kestrel, port 0): <c>/{owner}/{name}/resolve/{revision}/{file}</c> with the hub's headers,
/// small files served directly (ETag = git blob sha1), large files redirected to a "CDN" on another host name
/// (<c>localhost</c>, X-Linked-Etag = SHA-256) that honours Range. Knobs make it misbehave the ways real networks do.
/// </summary>
internal sealed class FakeHub : IAsyncDisposable
{
    private const int LfsThreshold = 100_000;
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, byte[]> _blobs = new();
    private readonly ConcurrentDictionary<string, bool> _dropped = new();

    public Dictionary<string, FakeRepo> Repos { get; } = new();
    public ConcurrentQueue<string> Requests { get; } = new();
    /// <summary>Each CDN request: the file and its Range header ("" when none).</summary>
    public ConcurrentQueue<(string File, string Range)> CdnRequests { get; } = new();
    public ConcurrentQueue<string?> CdnAuthorizations { get; } = new();

    /// <summary>Close the connection half-way through the first CDN download of this file.</summary>
    public string? DropHalfwayOnce { get; set; }
    /// <summary>Close the connection half-way through every CDN download of this file.</summary>
    public string? DropHalfwayAlways { get; set; }
    /// <summary>Serve this file with one byte flipped (same length).</summary>
    public string? CorruptFile { get; set; }
    public bool IgnoreRange { get; set; }
    /// <summary>Headers sent on every resolve answer in place of the true ones (a hub mirror that lies).</summary>
    public Dictionary<string, string> HeaderOverrides { get; } = new();
    /// <summary>Bytes appended to every GET body of this file beyond its declared size.</summary>
    public (string File, int Bytes)? LongerBody { get; set; }
    /// <summary>Send bodies without Content-Length (chunked), so only the bytes themselves show a body is too long.</summary>
    public bool Chunked { get; set; }
    public int Port { get; private set; }
    public string Endpoint => $"http://127.0.0.1:{Port}";

    private FakeHub(WebApplication app) => _app = app;

    public static async Task<FakeHub> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var hub = new FakeHub(app);
        app.Run(hub.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        hub.Port = new Uri(address).Port;
        return hub;
    }

    public FakeRepo AddRepo(string repoId, IReadOnlyDictionary<string, byte[]> files, string? token = null)
    {
        var repo = new FakeRepo(token);
        repo.AddCommit(files);
        Repos[repoId] = repo;
        return repo;
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        Requests.Enqueue($"{request.Method} {request.Path}");
        var parts = request.Path.Value!.Trim('/').Split('/');
        if (parts[0] == "cdn")
        {
            await ServeCdnAsync(context, parts[1], parts[2]);
            return;
        }
        var response = context.Response;
        if (parts.Length != 5 || parts[2] != "resolve")
        {
            response.StatusCode = 400;
            return;
        }
        var repoId = parts[0] + "/" + parts[1];
        var authorization = request.Headers.Authorization.ToString();
        if (!Repos.TryGetValue(repoId, out var repo))
        {
            Error(response, 404, "RepoNotFound");
            return;
        }
        if (repo.Token != null && authorization != "Bearer " + repo.Token)
        {
            Error(response, 401, "GatedRepo");
            return;
        }
        var revision = Uri.UnescapeDataString(parts[3]);
        var commit = revision == "main" ? repo.Main : repo.Branches.GetValueOrDefault(revision, revision);
        if (!repo.Commits.TryGetValue(commit, out var files))
        {
            Error(response, 404, "RevisionNotFound");
            return;
        }
        var fileName = Uri.UnescapeDataString(parts[4]);
        if (!files.TryGetValue(fileName, out var content))
        {
            Error(response, 404, "EntryNotFound");
            return;
        }
        response.Headers["X-Repo-Commit"] = commit;
        if (content.Length >= LfsThreshold)
        {
            var sha = Convert.ToHexStringLower(SHA256.HashData(content));
            _blobs[sha] = content;
            response.StatusCode = 302;
            response.Headers["X-Linked-Etag"] = $"\"{sha}\"";
            response.Headers["X-Linked-Size"] = content.Length.ToString();
            response.Headers.ETag = "W/\"not-the-blob-name\"";
            response.Headers.Location = $"http://localhost:{Port}/cdn/{sha}/{fileName}";
            ApplyOverrides(response);
            return;
        }
        response.Headers.ETag = $"\"{GitBlobSha1(content)}\"";
        response.ContentLength = content.Length;
        ApplyOverrides(response);
        if (!HttpMethods.IsGet(request.Method)) return;
        content = Lengthen(fileName, content);
        response.ContentLength = Chunked ? null : content.Length;
        await response.Body.WriteAsync(content);
    }

    private void ApplyOverrides(HttpResponse response)
    {
        foreach (var (name, value) in HeaderOverrides) response.Headers[name] = value;
    }

    private byte[] Lengthen(string fileName, byte[] content) =>
        LongerBody is { } longer && longer.File == fileName ? [.. content, .. new byte[longer.Bytes]] : content;

    private async Task ServeCdnAsync(HttpContext context, string sha, string fileName)
    {
        CdnAuthorizations.Enqueue(context.Request.Headers.Authorization.FirstOrDefault());
        var content = _blobs[sha];
        if (fileName == CorruptFile)
        {
            content = (byte[])content.Clone();
            content[content.Length / 3] ^= 0xFF;
        }
        content = Lengthen(fileName, content);
        long start = 0;
        var range = context.Request.Headers.Range.ToString();
        CdnRequests.Enqueue((fileName, range));
        var response = context.Response;
        if (range.StartsWith("bytes=") && !IgnoreRange)
        {
            start = long.Parse(range["bytes=".Length..].TrimEnd('-'));
            response.StatusCode = 206;
            response.Headers.ContentRange = $"bytes {start}-{content.Length - 1}/{content.Length}";
        }
        response.ContentLength = Chunked ? null : content.Length - start;
        if (fileName == DropHalfwayAlways || fileName == DropHalfwayOnce && _dropped.TryAdd(fileName, true))
        {
            await response.Body.WriteAsync(content.AsMemory((int)start, (content.Length - (int)start) / 2));
            await response.Body.FlushAsync();
            context.Abort();
            return;
        }
        await response.Body.WriteAsync(content.AsMemory((int)start));
    }

    private static void Error(HttpResponse response, int status, string code)
    {
        response.StatusCode = status;
        response.Headers["X-Error-Code"] = code;
    }

    public static string GitBlobSha1(byte[] content)
    {
        var header = Encoding.ASCII.GetBytes($"blob {content.Length}\0");
        return Convert.ToHexStringLower(SHA1.HashData([.. header, .. content]));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>A repo of the fake hub: commits (hash → files) and the commit <c>main</c> points to.</summary>
internal sealed class FakeRepo(string? token)
{
    public string? Token { get; } = token;
    public Dictionary<string, Dictionary<string, byte[]>> Commits { get; } = new();
    public string Main { get; private set; } = "";
    /// <summary>Other names the hub resolves (branches, tags, or whatever a hostile hub accepts) → commit.</summary>
    public Dictionary<string, string> Branches { get; } = new();

    /// <summary>Adds a commit and moves main to it; returns its hash.</summary>
    public string AddCommit(IReadOnlyDictionary<string, byte[]> files)
    {
        var commit = Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes($"commit {Commits.Count} {Guid.NewGuid()}")));
        Commits[commit] = new Dictionary<string, byte[]>(files);
        Main = commit;
        return commit;
    }
}
