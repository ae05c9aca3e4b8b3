using System.Runtime.InteropServices;

namespace M3.Bench.Encoder;

/// <summary>The machine a report was measured on, so numbers are never read without it.</summary>
public sealed record MachineDescription(string Cpu, int LogicalCores, int Threads, double MemoryGiB, string Os, string Runtime, string OnnxRuntime, string CpuFlags)
{
    public static MachineDescription Current(int threads) => new(
        Cpu: CpuInfo("model name") ?? RuntimeInformation.ProcessArchitecture.ToString(),
        LogicalCores: Environment.ProcessorCount,
        Threads: threads,
        MemoryGiB: Math.Round(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (double)(1L << 30), 1),
        Os: RuntimeInformation.OSDescription,
        Runtime: RuntimeInformation.FrameworkDescription,
        OnnxRuntime: Microsoft.ML.OnnxRuntime.OrtEnv.Instance().GetVersionString(),
        // Only the flags that decide which kernels ONNX Runtime picks.
        CpuFlags: string.Join(' ', (CpuInfo("flags") ?? "").Split(' ')
            .Where(f => f is "avx2" or "fma" or "avx512f" or "avx512_vnni" or "avx512_bf16" or "avx_vnni" or "amx_int8" or "amx_bf16")));

    private static string? CpuInfo(string key)
    {
        if (!File.Exists("/proc/cpuinfo")) return null;
        foreach (var line in File.ReadLines("/proc/cpuinfo"))
            if (line.StartsWith(key, StringComparison.Ordinal) && line.IndexOf(':') is var colon and > 0)
                return line[(colon + 1)..].Trim();
        return null;
    }
}
