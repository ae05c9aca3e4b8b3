using Microsoft.Data.Sqlite;

namespace M3.Retrieval.Storage;

/// <summary>
/// Turns SQLite's failures into messages that say what happened to which file and what to do: the CLI prints them
/// as one line, and a stack trace or "database disk image is malformed" alone helps nobody.
/// </summary>
internal static class IndexStoreErrors
{
    private const int Busy = 5, Locked = 6, ReadOnly = 8, IoErr = 10, Corrupt = 11, Full = 13, CantOpen = 14, NotADb = 26;

    public static Exception Describe(SqliteException e, string path) => (e.SqliteErrorCode & 0xff) switch
    {
        Busy or Locked => new IOException($"{path}: the index is locked by another process (waited {IndexStore.BusyTimeoutSeconds} s); retry when the other 'm3 index add' or delete has finished", e),
        Full => new IOException($"{path}: the disk is full; the batch in flight was not committed (the index holds every earlier batch); free space and run the command again", e),
        Corrupt or NotADb => new InvalidDataException($"{path}: the index database is damaged ({e.Message}); rebuild the index from your documents", e),
        ReadOnly => new IOException($"{path}: the index is read-only (file system or permissions); searching works, adding or deleting needs write access", e),
        CantOpen => new IOException($"{path}: cannot open the index database ({e.Message}); check that the folder exists and is readable", e),
        IoErr => new IOException($"{path}: I/O error reading or writing the index ({e.Message}); check the disk", e),
        _ => new IOException($"{path}: {e.Message}", e),
    };

    /// <summary>Runs a store operation, mapping SQLite failures to described exceptions.</summary>
    public static T Guard<T>(string path, Func<T> body)
    {
        try { return body(); }
        catch (SqliteException e) { throw Describe(e, path); }
    }

    public static void Guard(string path, Action body) => Guard(path, () => { body(); return 0; });
}
