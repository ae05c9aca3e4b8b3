using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;

namespace M3.Core.Onnx;

/// <summary>
/// M3Sharp's own ONNX Runtime operators (domain <c>ai.m3sharp</c>, source in src/M3.Core/Native): an int8 attention
/// kernel, which ONNX Runtime's CPU provider lacks. The library is compiled beside M3.Core on Linux x64 where a C++
/// compiler is found; elsewhere, on a CPU without AVX-512 VNNI, or with <c>M3SHARP_NATIVE_OPS=off</c>, graphs use ONNX
/// Runtime's own operators instead (the int8 mode then keeps float32 attention).
/// </summary>
internal static class NativeOps
{
    public const string Domain = "ai.m3sharp";
    public const string FileName = "libm3sharp_ops.so";
    public const string SwitchVariable = "M3SHARP_NATIVE_OPS";

    private static readonly Lazy<string?> s_library = new(Find);

    /// <summary>The library to register, or null where the operators cannot run (see the class summary).</summary>
    public static string? LibraryPath => s_library.Value;

    private static readonly Lock s_sessionGate = new();

    /// <summary>
    /// A session that can run graphs using the operators (they are registered first, where available). Created one at a
    /// time: while it creates a session, ONNX Runtime adds a custom operator domain to ONNX's process-wide domain table if
    /// the table lacks it, a check and an insert that are not atomic, so two sessions created at once could both insert
    /// (seen once in parallel tests: "Trying to add a domain to DomainToVersion map, but the domain is already exist").
    /// </summary>
    /// <exception cref="M3.Core.Inference.EncoderException">ONNX Runtime refused the library (e.g. one built against another version).</exception>
    /// <exception cref="OnnxRuntimeException">ONNX Runtime cannot load the model.</exception>
    public static InferenceSession CreateSession(string modelPath, SessionOptions options)
    {
        Register(options);
        lock (s_sessionGate) return new InferenceSession(modelPath, options);
    }

    private static void Register(SessionOptions options)
    {
        if (LibraryPath is not { } path) return;
        try
        {
            options.RegisterCustomOpLibrary(path);
        }
        catch (OnnxRuntimeException e)
        {
            throw new M3.Core.Inference.EncoderException(
                $"ONNX Runtime cannot register M3Sharp's operators from '{path}' ({e.Message}); rebuild M3.Core, or set {SwitchVariable}=off to use ONNX Runtime's own attention", e);
        }
    }

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int CpuSupported();

    private static string? Find()
    {
        if (string.Equals(Environment.GetEnvironmentVariable(SwitchVariable), "off", StringComparison.OrdinalIgnoreCase)) return null;
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64) return null;
        // Beside M3.Core.dll (a build or a tool's folder), or where NuGet puts a package's native files.
        var folders = new[] { Path.GetDirectoryName(typeof(NativeOps).Assembly.Location), AppContext.BaseDirectory }
            .Where(f => !string.IsNullOrEmpty(f)).Distinct();
        foreach (var folder in folders)
            foreach (var path in new[] { Path.Combine(folder!, FileName), Path.Combine(folder!, "runtimes", "linux-x64", "native", FileName) })
                if (File.Exists(path)) return Supported(path) ? path : null;
        return null;
    }

    // The library checks the CPU in code compiled without AVX-512, so asking never faults.
    private static bool Supported(string path)
    {
        if (!NativeLibrary.TryLoad(path, out var handle)) return false;
        return NativeLibrary.TryGetExport(handle, "m3_ops_cpu_supported", out var function)
               && Marshal.GetDelegateForFunctionPointer<CpuSupported>(function)() == 1;
    }
}
