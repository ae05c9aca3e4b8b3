using Microsoft.ML.OnnxRuntime;

namespace M3.Core.Training;

/// <summary>
/// One ONNX Runtime CPU arena shared by the training sessions (<c>session.use_env_allocators</c>), growing by exactly
/// what a request needs (no power-of-two growth). Without an arena every intermediate tensor
/// is fresh memory from the operating system, and first-touch page faults then cost more than the arithmetic
/// (docs/training.md has the measurement); within a pass the arena reuses what earlier nodes freed instead.
/// </summary>
internal static class TrainingArena
{
    private const int SameAsRequested = 1;
    private static readonly Lazy<bool> Registered = new(Register, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Registers the arena with the process' ONNX Runtime environment (once) and makes <paramref name="options"/> use it.</summary>
    public static void Use(SessionOptions options)
    {
        _ = Registered.Value;
        options.AddSessionConfigEntry("session.use_env_allocators", "1");
    }

    /// <summary>
    /// Options for a training run: afterwards the arena hands regions no tensor uses back to the system, so regions sized
    /// for one batch's shapes do not pile up over a run whose shapes change every step (within a run, memory is reused).
    /// </summary>
    public static RunOptions RunOptions()
    {
        var options = new RunOptions();
        options.AddRunConfigEntry("memory.enable_memory_arena_shrinkage", "cpu:0");
        return options;
    }

    private static bool Register()
    {
        using var memory = new OrtMemoryInfo(OrtMemoryInfo.allocatorCPU, OrtAllocatorType.ArenaAllocator, 0, OrtMemType.Default);
        // 0 and −1: ONNX Runtime's defaults for the arena's limit, first region and dead bytes per chunk.
        using var config = new OrtArenaCfg(0, SameAsRequested, -1, -1);
        try
        {
            OrtEnv.Instance().CreateAndRegisterAllocator(memory, config);
        }
        catch (OnnxRuntimeException e) when (e.Message.Contains("already", StringComparison.OrdinalIgnoreCase))
        {
            // Another part of the process registered a CPU allocator first: the sessions share that one.
        }
        return true;
    }
}
