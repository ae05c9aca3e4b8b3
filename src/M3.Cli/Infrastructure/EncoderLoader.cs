using M3.Core.Inference;

namespace M3.Cli.Infrastructure;

/// <summary>Loads the encoder for a <c>--model</c> argument: a checkpoint folder, or a hub id resolved (and downloaded) through the cache.</summary>
internal static class EncoderLoader
{
    public static M3Encoder Load(string modelArgument, M3LoadOptions? options, CancellationToken ct)
    {
        var folder = ModelLocator.Resolve(modelArgument, ct);
        return M3Encoder.Load(folder, options);
    }
}
