namespace M3.Tests;

/// <summary>Locates the repository and the tiny-m3 fixture checkpoint the tests load through the user-facing code.</summary>
public static class TestPaths
{
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>
    /// The fixture checkpoint: <c>M3_FIXTURE_DIR</c> when set (to run the same checks on another checkpoint),
    /// else <c>../shared/fixtures/tiny-m3</c> beside the repository, else the copy in <c>tests/fixtures/tiny-m3</c>.
    /// </summary>
    public static string TinyM3 { get; } = FindFixture();

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Directory.Packages.props")))
                return dir.FullName;
        }
        throw new InvalidOperationException("repository root (Directory.Packages.props) not found above " + AppContext.BaseDirectory);
    }

    private static string FindFixture()
    {
        var env = Environment.GetEnvironmentVariable("M3_FIXTURE_DIR");
        if (!string.IsNullOrEmpty(env)) return Path.GetFullPath(env);
        var shared = Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "fixtures", "tiny-m3"));
        if (File.Exists(Path.Combine(shared, "config.json"))) return shared;
        return Path.Combine(RepoRoot, "tests", "fixtures", "tiny-m3");
    }

    /// <summary>A fresh empty directory under the system temp folder, for tests that write files.</summary>
    public static string NewTempDir(string prefix = "m3test")
    {
        var dir = Path.Combine(Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }
}
