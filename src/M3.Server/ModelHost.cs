using M3.Core.Encoding;
using M3.Retrieval;
using M3.Server.Http;

namespace M3.Server;

/// <summary>
/// Loads the encoder (and the index, when one is configured) in the background after the server starts listening,
/// so /health can answer 503 while loading instead of the port being closed.
/// </summary>
public sealed class ModelHost : IAsyncDisposable
{
    private readonly Task _loading;
    private M3Encoder? _encoder;
    private M3Index? _index;
    private Exception? _failure;

    public ModelHost(ServerOptions options)
    {
        _loading = Task.Run(() =>
        {
            try
            {
                _encoder = M3Encoder.Load(options.ModelDirectory, options.Encoder);
                if (options.IndexDirectory != null) _index = M3Index.Open(options.IndexDirectory);
            }
            catch (Exception e)
            {
                _failure = e;
            }
        });
    }

    public bool Ready => _loading.IsCompleted && _failure == null;

    /// <summary>Why loading failed (reported on stderr by the CLI), or null.</summary>
    public Exception? Failure => _loading.IsCompleted ? _failure : null;

    public Task Loading => _loading;

    public M3Encoder Encoder => Ready ? _encoder! : throw NotReady();

    /// <summary>The loaded index; 404 when the server runs without one.</summary>
    public M3Index Index => Ready
        ? _index ?? throw new ApiError(404, "no index is loaded; start the server with --index DIR to use /search")
        : throw NotReady();

    private ApiError NotReady() => _failure != null
        ? new ApiError(503, "the model failed to load; see the server log")
        : new ApiError(503, "the model is loading; retry shortly");

    public async ValueTask DisposeAsync()
    {
        await _loading;
        _index?.Dispose();
        _encoder?.Dispose();
    }
}
