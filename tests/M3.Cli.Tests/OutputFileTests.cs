using System.Diagnostics;
using M3.Cli.Infrastructure;
using M3.Tests;
using Mono.Unix.Native;

namespace M3.Cli.Tests;

/// <summary>--output to regular files (atomic), symlinks (kept), FIFOs and devices (written through), full disks and signals (no leftovers).</summary>
public sealed class OutputFileTests : IDisposable
{
    private readonly string _dir = TestPaths.NewTempDir("m3cliout");

    public void Dispose() => Directory.Delete(_dir, true);

    private string PathOf(string name) => Path.Combine(_dir, name);

    private static void WriteAndCommit(string path, string text)
    {
        using var output = new OutputFile(path);
        output.Writer.Write(text);
        output.Commit();
    }

    private static FilePermissions FileType(string path)
    {
        Assert.Equal(0, Syscall.lstat(path, out var status));
        return status.st_mode & FilePermissions.S_IFMT;
    }

    [Fact]
    public void Regular_file_is_replaced_only_on_commit_and_no_temp_file_remains()
    {
        var path = PathOf("out.jsonl");
        File.WriteAllText(path, "old");

        using (var output = new OutputFile(path))
        {
            output.Writer.Write("new");
            output.Writer.Flush();
            Assert.Equal("old", File.ReadAllText(path));
            output.Commit();
        }

        Assert.Equal("new", File.ReadAllText(path));
        Assert.Equal(["out.jsonl"], Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName));
    }

    [Fact]
    public void Failure_before_commit_leaves_the_target_as_it_was_and_removes_the_temp_file()
    {
        var path = PathOf("out.jsonl");
        File.WriteAllText(path, "old");

        using (var output = new OutputFile(path)) output.Writer.Write("half");

        Assert.Equal("old", File.ReadAllText(path));
        Assert.Equal(["out.jsonl"], Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Symlink_is_kept_and_its_target_is_written(bool targetExists)
    {
        if (OperatingSystem.IsWindows()) return;
        var target = Directory.CreateDirectory(PathOf("real")).FullName + "/data.jsonl";
        if (targetExists)
        {
            File.WriteAllText(target, "old");
            File.SetUnixFileMode(target, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        }
        var link = PathOf("link.jsonl");
        File.CreateSymbolicLink(link, "real/data.jsonl");

        WriteAndCommit(link, "new");

        Assert.Equal("real/data.jsonl", new FileInfo(link).LinkTarget);
        Assert.Equal("new", File.ReadAllText(target));
        Assert.Equal(["data.jsonl"], Directory.GetFileSystemEntries(PathOf("real")).Select(Path.GetFileName));
        if (targetExists) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, File.GetUnixFileMode(target));
    }

    [Fact]
    public async Task Fifo_is_written_through_and_stays_a_fifo()
    {
        if (OperatingSystem.IsWindows()) return;
        var fifo = PathOf("pipe");
        Assert.Equal(0, Syscall.mkfifo(fifo, FilePermissions.S_IRUSR | FilePermissions.S_IWUSR));
        var reader = Task.Run(() => File.ReadAllText(fifo));

        await Task.Run(() => WriteAndCommit(fifo, "through the pipe\n"));

        Assert.Equal("through the pipe\n", await reader.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(FilePermissions.S_IFIFO, FileType(fifo));
        Assert.Equal(["pipe"], Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName));
    }

    [Fact]
    public void Character_device_is_written_through_and_not_replaced()
    {
        if (PrivateDevice("null", minor: 3) is not { } device) return;

        WriteAndCommit(device, "discarded");

        Assert.Equal(FilePermissions.S_IFCHR, FileType(device));
        Assert.Equal(["null"], Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName));
    }

    [Fact]
    public void Device_that_is_full_gives_a_clear_error()
    {
        if (PrivateDevice("full", minor: 7) is not { } device) return; // writes to /dev/full's kind fail with ENOSPC, as on a full disk

        var e = Assert.Throws<CliError>(() => WriteAndCommit(device, "x"));

        Assert.Contains($"cannot write {device}", e.Message);
        Assert.Contains("No space left", e.Message);
        Assert.Contains("free some space", e.Message);
        Assert.Equal(FilePermissions.S_IFCHR, FileType(device));
        Assert.Equal(["full"], Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName));
    }

    /// <summary>
    /// A node for the memory device <paramref name="minor"/> (3 = null, 7 = full) in the test's own folder, so that an
    /// output that wrongly replaced it would replace this copy, never the system's /dev; null where mknod is not allowed.
    /// </summary>
    private string? PrivateDevice(string name, int minor)
    {
        if (OperatingSystem.IsWindows()) return null;
        var path = PathOf(name);
        const ulong memoryDevices = 1;
        return Syscall.mknod(path, FilePermissions.S_IFCHR | FilePermissions.S_IRUSR | FilePermissions.S_IWUSR, (memoryDevices << 8) | (ulong)minor) == 0
            ? path
            : null;
    }

    [Fact]
    public void Full_disk_leaves_neither_the_target_nor_the_temp_file()
    {
        var disk = Directory.CreateDirectory(PathOf("disk")).FullName;
        // A 64 KiB tmpfs is a disk that fills up; mounting needs root, so elsewhere the test has nothing to run on.
        if (!Run("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", disk)) return;
        try
        {
            var path = Path.Combine(disk, "out.jsonl");

            Assert.ThrowsAny<IOException>(() =>
            {
                using var output = new OutputFile(path);
                for (var i = 0; i < 10_000; i++) output.Writer.WriteLine(new string('x', 100));
                output.Commit();
            });

            Assert.Empty(Directory.GetFileSystemEntries(disk));
        }
        finally
        {
            Run("umount", disk);
        }
    }

    [Theory]
    [InlineData("TERM")]
    [InlineData("INT")]
    public async Task Signal_while_writing_removes_the_temp_file(string signal)
    {
        if (OperatingSystem.IsWindows()) return;
        var output = PathOf("out.jsonl");
        var m3 = Path.Combine(AppContext.BaseDirectory, "m3.dll");
        var start = new ProcessStartInfo("dotnet", ["exec", m3, "tokenize", "--model", TestPaths.TinyM3, "--input", "-", "--output", output])
        {
            RedirectStandardInput = true,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        using var process = Process.Start(start)!;
        // One line, and stdin left open: m3 writes it to its temp file, then waits for more input.
        await process.StandardInput.WriteLineAsync("""{"text": "hello"}""");
        await process.StandardInput.FlushAsync();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (Directory.GetFiles(_dir, ".out.jsonl.*.tmp").Length == 0 && !process.HasExited && DateTime.UtcNow < deadline)
            await Task.Delay(50);
        Assert.Single(Directory.GetFiles(_dir, ".out.jsonl.*.tmp"));

        Assert.True(Run("kill", "-" + signal, process.Id.ToString()));
        Assert.True(process.WaitForExit(TimeSpan.FromSeconds(30)), "m3 did not exit after the signal");

        Assert.NotEqual(0, process.ExitCode);
        Assert.Empty(Directory.GetFileSystemEntries(_dir));
    }

    private static bool Run(string program, params string[] args)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo(program, args) { RedirectStandardError = true, RedirectStandardOutput = true })!;
            process.WaitForExit();
            return process.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}
