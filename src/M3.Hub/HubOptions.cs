namespace M3.Hub;

/// <summary>Where models come from and where they are cached; <see cref="FromEnvironment()"/> reads the same variables as huggingface_hub.</summary>
public sealed record HubOptions
{
    /// <summary>The Hugging Face hub, used when <c>HF_ENDPOINT</c> is not set.</summary>
    public const string DefaultEndpoint = "https://huggingface.co";

    /// <summary>The hub's base URL (<c>HF_ENDPOINT</c>), e.g. a mirror or a test server.</summary>
    public string Endpoint { get; init; } = DefaultEndpoint;

    /// <summary>Bearer token for gated or private repos (<c>HF_TOKEN</c>); sent only to the endpoint's host.</summary>
    public string? Token { get; init; }

    /// <summary>The hub cache folder holding <c>models--owner--name</c> (<c>HF_HUB_CACHE</c>, else <c>$HF_HOME/hub</c>).</summary>
    public string CacheDirectory { get; init; } = DefaultCacheDirectory(Environment.GetEnvironmentVariable);

    /// <summary>Use the cache only, never the network (<c>HF_HUB_OFFLINE=1</c>).</summary>
    public bool Offline { get; init; }

    /// <summary>How often a dropped download is resumed before giving up.</summary>
    public int MaxRetries { get; init; } = 5;

    /// <summary>Options from <c>HF_ENDPOINT</c>, <c>HF_TOKEN</c>, <c>HF_HUB_CACHE</c>/<c>HF_HOME</c> and <c>HF_HUB_OFFLINE</c>, with defaults for those not set.</summary>
    public static HubOptions FromEnvironment() => FromEnvironment(Environment.GetEnvironmentVariable);

    internal static HubOptions FromEnvironment(Func<string, string?> env)
    {
        var endpoint = NonEmpty(env("HF_ENDPOINT")) ?? DefaultEndpoint;
        return new HubOptions
        {
            Endpoint = endpoint.TrimEnd('/'),
            Token = NonEmpty(env("HF_TOKEN")) ?? NonEmpty(env("HUGGING_FACE_HUB_TOKEN")),
            CacheDirectory = DefaultCacheDirectory(env),
            Offline = IsTrue(env("HF_HUB_OFFLINE")),
        };
    }

    // huggingface_hub's order: HF_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub.
    private static string DefaultCacheDirectory(Func<string, string?> env)
    {
        if (NonEmpty(env("HF_HUB_CACHE")) is { } hubCache) return ExpandHome(hubCache);
        if (NonEmpty(env("HF_HOME")) is { } hfHome) return Path.Combine(ExpandHome(hfHome), "hub");
        var xdg = NonEmpty(env("XDG_CACHE_HOME"));
        var cacheRoot = xdg ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(cacheRoot, "huggingface", "hub");
    }

    private static string ExpandHome(string path) =>
        path.StartsWith('~')
            ? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile) + path[1..]
            : path;

    // huggingface_hub's truthy spellings, so one HF_HUB_OFFLINE setting means the same thing to both tools.
    private static bool IsTrue(string? value) =>
        value?.Trim().ToUpperInvariant() is "1" or "ON" or "YES" or "TRUE";

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
