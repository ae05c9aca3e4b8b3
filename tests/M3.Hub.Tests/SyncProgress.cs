namespace M3.Hub.Tests;

/// <summary>Reports on the caller's thread (Progress&lt;T&gt; posts to the thread pool, so its reports may arrive late).</summary>
internal sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
