using M3.Core.Encoding;

namespace M3.Cli.Infrastructure;

/// <summary>Loads the encoder for a <c>--model</c> argument: a checkpoint folder, or a hub id resolved (and downloaded) through the cache.</summary>
internal static class EncoderLoader
{
    public static M3Encoder Load(string modelArgument, M3EncoderOptions? options, CancellationToken ct)
    {
        var folder = ModelLocator.Resolve(modelArgument, ct);
        return M3Encoder.Load(folder, options);
    }
}
