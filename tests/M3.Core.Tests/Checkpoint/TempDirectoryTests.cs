using M3.Tests;

namespace M3.Core.Tests.Checkpoint;

/// <summary>Base for tests that write files: a fresh temp folder per test, deleted afterwards.</summary>
public abstract class TempDirectoryTests : IDisposable
{
    private readonly string _dir = TestPaths.NewTempDir("m3ckpt");

    protected string PathOf(string name) => Path.Combine(_dir, name);

    public void Dispose()
    {
        Directory.Delete(_dir, recursive: true);
        GC.SuppressFinalize(this);
    }
}
