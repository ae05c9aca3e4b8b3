using M3.Core.Inference;
using M3.Tests;

namespace M3.Core.Tests.Inference;

/// <summary>One encoder on the fixture checkpoint (graph cached in a temp folder) and its golden file, shared by a test class.</summary>
public sealed class EncoderFixture : IDisposable
{
    public string CacheDirectory { get; } = TestPaths.NewTempDir("m3graphs");
    public M3Encoder Encoder { get; }
    public Golden Golden { get; } = Golden.Load(TestPaths.TinyM3);

    public EncoderFixture() => Encoder = M3Encoder.Load(TestPaths.TinyM3, new M3LoadOptions { CacheDirectory = CacheDirectory });

    public void Dispose()
    {
        Encoder.Dispose();
        Directory.Delete(CacheDirectory, recursive: true);
    }
}
