using M3.Core.Encoding;
using M3.Tests;

namespace M3.Server.Tests;

/// <summary>Real servers on 127.0.0.1 with a free port, and a reference encoder on the same fixture checkpoint.</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    public string Cache { get; } = TestPaths.NewTempDir("m3server");
    public M3Encoder Encoder { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Encoder = M3Encoder.Load(TestPaths.TinyM3, new M3EncoderOptions { CacheDirectory = Cache });
        await Task.CompletedTask;
    }

    /// <summary>Starts a server with the given option changes and waits until /health says ready.</summary>
    public async Task<(M3Server Server, HttpClient Client)> StartAsync(Func<ServerOptions, ServerOptions>? configure = null, bool waitReady = true)
    {
        var options = new ServerOptions
        {
            ModelDirectory = TestPaths.TinyM3,
            Urls = "http://127.0.0.1:0",
            Encoder = new M3EncoderOptions { CacheDirectory = Cache },
        };
        var server = M3Server.Create(configure?.Invoke(options) ?? options);
        await server.StartAsync();
        var client = new HttpClient { BaseAddress = new Uri(server.Addresses[0]) };
        if (waitReady)
        {
            await server.Host.Loading;
            Assert.Null(server.Host.Failure);
        }
        return (server, client);
    }

    public async Task DisposeAsync()
    {
        Encoder.Dispose();
        await Task.CompletedTask;
        Directory.Delete(Cache, true);
    }
}
