using M3.Cli.Commands;
using M3.Hub.Tests;
using M3.Tests;

namespace M3.Cli.Tests;

/// <summary><c>m3 encode --model owner/name</c> against a loopback hub: downloads into a fresh HF_HOME, same output as the folder.</summary>
[Collection("Console")]
public sealed class HubEncodeTests : IAsyncLifetime
{
    private readonly string _dir = TestPaths.NewTempDir("m3clihub");
    private readonly Dictionary<string, string?> _saved = new();
    private FakeHub _hub = null!;

    public async Task InitializeAsync()
    {
        _hub = await FakeHub.StartAsync();
        _hub.AddRepo("acme/tiny-m3", Fixture.Files);
        Set("HF_ENDPOINT", _hub.Endpoint);
        Set("HF_HOME", Path.Combine(_dir, "hf"));
        Set("HF_HUB_CACHE", null);
        Set("HF_HUB_OFFLINE", null);
        Set("HF_TOKEN", null);
        Set("M3_CACHE", Path.Combine(_dir, "m3cache"));
    }

    private void Set(string name, string? value)
    {
        _saved.TryAdd(name, Environment.GetEnvironmentVariable(name));
        Environment.SetEnvironmentVariable(name, value);
    }

    public async Task DisposeAsync()
    {
        foreach (var (k, v) in _saved) Environment.SetEnvironmentVariable(k, v);
        await _hub.DisposeAsync();
        Directory.Delete(_dir, true);
    }

    private static int Encode(string model, string output) =>
        CliRun.Invoke(EncodeCommand.Create(), "--model", model, "--input", Path.Combine(TestPaths.RepoRoot, "examples", "texts.jsonl"), "--output", output).ExitCode;

    [Fact]
    public void Encoding_a_hub_id_downloads_once_and_equals_the_local_folder()
    {
        Assert.Equal(0, Encode(TestPaths.TinyM3, Path.Combine(_dir, "local.jsonl")));
        Assert.Empty(_hub.Requests);

        Assert.Equal(0, Encode("acme/tiny-m3", Path.Combine(_dir, "hub.jsonl")));
        Assert.NotEmpty(_hub.Requests);
        Assert.Equal(File.ReadAllBytes(Path.Combine(_dir, "local.jsonl")), File.ReadAllBytes(Path.Combine(_dir, "hub.jsonl")));
        Assert.True(Directory.Exists(Path.Combine(_dir, "hf", "hub", "models--acme--tiny-m3", "snapshots")));

        int requests = _hub.Requests.Count;
        Assert.Equal(0, Encode("acme/tiny-m3", Path.Combine(_dir, "again.jsonl")));
        Assert.Equal(requests, _hub.Requests.Count);
        Assert.Equal(File.ReadAllBytes(Path.Combine(_dir, "local.jsonl")), File.ReadAllBytes(Path.Combine(_dir, "again.jsonl")));
    }
}
