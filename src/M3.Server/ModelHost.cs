using M3.Core.Inference;
using M3.Retrieval;
using M3.Server.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace M3.Server;

/// <summary>Loads the encoder of <see cref="ServerOptions"/>; a seam so that tests can hold a load back.</summary>
internal delegate M3Encoder EncoderLoader(ServerOptions options);

/// <summary>
/// Loads the encoder (and the index, when one is configured) in the background after the server starts listening,
/// so /health can answer 503 while loading instead of the port being closed.
/// </summary>
internal sealed class ModelHost : IAsyncDisposable
{
    private readonly Task _loading;
    private M3Encoder? _encoder;
    private M3Index? _index;
    private Exception? _failure;

    internal ModelHost(ServerOptions options, EncoderLoader load, ILogger<ModelHost>? logger = null)
    {
        logger ??= NullLogger<ModelHost>.Instance;
        _loading = Task.Run(() =>
        {
            try
            {
                _encoder = load(options);
                if (options.IndexDirectory != null) _index = M3Index.Open(options.IndexDirectory);
                logger.LogInformation("ready: {Model}", options.ModelDirectory);
            }
            catch (Exception e)
            {
                _failure = e;
                logger.LogCritical(e, "the model failed to load from {Model}", options.ModelDirectory);
            }
        });
    }

    internal static M3Encoder LoadEncoder(ServerOptions options) => M3Encoder.Load(options.ModelDirectory, options.Encoder);

    public bool Ready => _loading.IsCompleted && _failure == null;

    /// <summary>Why loading failed (logged, and reported on stderr by the CLI), or null.</summary>
    public Exception? Failure => _loading.IsCompleted ? _failure : null;

    public Task Loading => _loading;

    public M3Encoder Encoder => Ready ? _encoder! : throw NotReady();

    /// <summary>The loaded index; 404 when the server runs without one.</summary>
    public M3Index Index => Ready
        ? _index ?? throw new ApiError(404, "no index is loaded; start the server with --index DIR to use /search")
        : throw NotReady();

    /// <summary>Why the model cannot serve yet (or at all), as /health and the endpoints say it.</summary>
    internal ApiError NotReady() => _failure != null
        ? new ApiError(503, "the model failed to load; see the server log")
        : new ApiError(503, "the model is loading; retry shortly");

    public async ValueTask DisposeAsync()
    {
        await _loading;
        _index?.Dispose();
        _encoder?.Dispose();
    }
}
