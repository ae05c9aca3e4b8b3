using M3.Core.Inference;
using M3.Tests;
using Microsoft.Extensions.DependencyInjection;

namespace M3.Server.Tests;

/// <summary>Real servers on 127.0.0.1 with a free port, and a reference encoder on the same fixture checkpoint.</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    public string Cache { get; } = TestPaths.NewTempDir("m3server");
    public M3Encoder Encoder { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Encoder = M3Encoder.Load(TestPaths.TinyM3, new M3LoadOptions { CacheDirectory = Cache });
        await Task.CompletedTask;
    }

    public ServerOptions Options => new()
    {
        ModelDirectory = TestPaths.TinyM3,
        Urls = "http://127.0.0.1:0",
        Encoder = new M3LoadOptions { CacheDirectory = Cache },
    };

    /// <summary>
    /// Starts a server with the given option changes (and seams replaced in <paramref name="services"/>) and, unless
    /// told not to, waits until the model is loaded.
    /// </summary>
    public async Task<(M3Server Server, HttpClient Client)> StartAsync(Func<ServerOptions, ServerOptions>? configure = null,
        bool waitReady = true, Action<IServiceCollection>? services = null)
    {
        var server = M3Server.Create(configure?.Invoke(Options) ?? Options, services);
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
