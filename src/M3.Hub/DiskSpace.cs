namespace M3.Hub;

/// <summary>Recognizes a full disk and says so in terms of the cache folder, before and during a download.</summary>
internal static class DiskSpace
{
    private const int Enospc = 28;                 // Linux/macOS errno, which .NET puts in HResult
    private const int WindowsDiskFull = 0x70;      // ERROR_DISK_FULL
    private const int WindowsHandleDiskFull = 0x27; // ERROR_HANDLE_DISK_FULL

    public static bool IsDiskFull(IOException e) =>
        e.HResult == Enospc || (e.HResult & 0xFFFF) is WindowsDiskFull or WindowsHandleDiskFull;

    public static HubException Error(string cacheDirectory, long needed, Exception? inner = null) =>
        new($"not enough disk space in {cacheDirectory}: need {Math.Max(needed, 0)} bytes; free some space, or set HF_HUB_CACHE to a folder on a larger disk", inner);

    /// <summary>Fails before downloading when the disk clearly cannot hold the files (no free-space figure: no check).</summary>
    public static void EnsureAvailable(string cacheDirectory, long needed)
    {
        long available;
        try
        {
            Directory.CreateDirectory(cacheDirectory);
            available = new DriveInfo(cacheDirectory).AvailableFreeSpace;
        }
        catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException)
        {
            return;
        }
        if (available < needed) throw Error(cacheDirectory, needed);
    }
}
