using System.Text.Json;
using M3.Core.Inference;

namespace M3.Bench.Encoder;

/// <summary>int8 against fp32 on the tiny fixture's golden texts (multilingual lines, edge cases, long documents).</summary>
public static class TinyFidelity
{
    public static Fidelity Measure(string fixture, int threads)
    {
        using var golden = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(fixture, "golden.json")));
        var texts = golden.RootElement.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("text").GetString()!).ToList();
        var cache = Directory.CreateTempSubdirectory("m3-bench-tiny-");
        try
        {
            OutputSummary Run(M3Precision precision)
            {
                using var encoder = M3Encoder.Load(fixture, new M3LoadOptions { Precision = precision, Threads = threads, CacheDirectory = cache.FullName });
                return OutputSummary.From(encoder.Encode(texts));
            }
            return Fidelity.Compare(Run(M3Precision.Fp32), Run(M3Precision.Int8));
        }
        finally
        {
            cache.Delete(recursive: true);
        }
    }
}
