using M3.Tests;

namespace M3.Hub.Tests;

/// <summary>A running fake hub and a fresh cache folder per test.</summary>
public abstract class HubTestBase : IAsyncLifetime
{
    internal FakeHub Hub { get; private set; } = null!;
    /// <summary>The folder around the cache: hostile answers must leave nothing here but the cache itself.</summary>
    protected string Sandbox { get; } = TestPaths.NewTempDir("m3hub");
    protected string CacheDir => Path.Combine(Sandbox, "cache");

    public async Task InitializeAsync() => Hub = await FakeHub.StartAsync();

    public async Task DisposeAsync()
    {
        await Hub.DisposeAsync();
        Directory.Delete(Sandbox, recursive: true);
    }

    protected HubOptions Options(string? token = null, bool offline = false) =>
        new() { Endpoint = Hub.Endpoint, CacheDirectory = CacheDir, Token = token, Offline = offline };

    protected string RepoFolder(string repoId) => Path.Combine(CacheDir, "models--" + repoId.Replace("/", "--"));

    protected static void AssertSameBytes(string expectedFile, string actualFile) =>
        Assert.True(File.ReadAllBytes(expectedFile).AsSpan().SequenceEqual(File.ReadAllBytes(actualFile)),
            $"{actualFile} differs from {expectedFile}");

    protected static void AssertFilesMatchFixture(string snapshot, IEnumerable<string> names)
    {
        foreach (var name in names) AssertSameBytes(Path.Combine(TestPaths.TinyM3, name), Path.Combine(snapshot, name));
    }
}
