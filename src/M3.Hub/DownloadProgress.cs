namespace M3.Hub;

/// <summary>
/// Bytes received so far: for the file being downloaded, and for all files of this resolution together
/// (sizes as the hub reports them; already-cached files are not counted).
/// </summary>
public readonly record struct DownloadProgress(string FileName, long FileBytes, long FileSize, long TotalBytes, long TotalSize);
