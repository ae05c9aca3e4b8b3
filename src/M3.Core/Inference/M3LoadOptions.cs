namespace M3.Core.Inference;

/// <summary>Numeric precision of the built ONNX graph.</summary>
public enum M3Precision
{
    /// <summary>float32 everywhere: matches the reference within float32 rounding.</summary>
    Fp32,
    /// <summary>
    /// int8 weights per output channel, activations quantized dynamically; attention's own products in int8 too where
    /// M3Sharp's native operator is built and the CPU has AVX-512 VNNI (Linux x64), else in float32.
    /// </summary>
    Int8,
}

/// <summary>Options fixed when an encoder is loaded.</summary>
public sealed record M3LoadOptions
{
    /// <summary>fp32, ONNX Runtime's choice of threads, the default cache folder.</summary>
    public static M3LoadOptions Default { get; } = new();

    /// <summary>The precision the ONNX graph is built in.</summary>
    public M3Precision Precision { get; init; } = M3Precision.Fp32;

    /// <summary>Intra-op threads for ONNX Runtime; 0 lets it choose (all physical cores).</summary>
    public int Threads { get; init; }

    /// <summary>Where built ONNX graphs are cached, keyed by checkpoint content; null = the default user cache folder.</summary>
    public string? CacheDirectory { get; init; }

    /// <summary>Told what the encoder does on its own, such as rebuilding a damaged cached graph; null = standard error.</summary>
    public Action<string>? Log { get; init; }
}
