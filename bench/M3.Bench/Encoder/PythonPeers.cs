using System.Diagnostics;
using System.Text.Json.Nodes;

namespace M3.Bench.Encoder;

/// <summary>
/// The Python side of the comparison, from the project's shared folder (../shared/bench from the repository root):
/// torch_baseline.py (PyTorch eager fp32) and onnx_export_baseline.py (the plain torch.onnx export other ports ship).
/// Both need Debian's torch: <c>apt-get install -y python3-torch python3-sentencepiece libopenblas0-pthread</c>.
/// </summary>
public sealed class PythonPeers
{
    public const string Python = "/usr/bin/python3";
    public const string InstallHint = "apt-get install -y python3-torch python3-sentencepiece libopenblas0-pthread";

    // Runs a script under runpy and reports the process's peak resident set (ru_maxrss, KiB on Linux) as a last JSON line.
    private const string PeakRssWrapper =
        "import json, resource, runpy, sys\n" +
        "sys.argv = sys.argv[1:]\n" +
        "try:\n    runpy.run_path(sys.argv[0], run_name='__main__')\n" +
        "finally:\n    print(json.dumps({'peak_rss_kb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}), flush=True)\n";

    private readonly string _benchDirectory;

    private PythonPeers(string benchDirectory) => _benchDirectory = benchDirectory;

    /// <summary>Finds the peers, or says why they cannot run (the benchmark then skips them and prints the reason).</summary>
    public static PythonPeers? Locate(string repositoryRoot, out string? whyNot)
    {
        var bench = Path.GetFullPath(Path.Combine(repositoryRoot, "..", "shared", "bench"));
        whyNot = null;
        if (!File.Exists(Path.Combine(bench, "torch_baseline.py")) || !File.Exists(Path.Combine(bench, "onnx_export_baseline.py")))
            whyNot = $"peer scripts not found in {bench} (the project's shared folder sits beside the repository root)";
        else if (!File.Exists(Python))
            whyNot = $"{Python} not found; install the peers' runtime with: {InstallHint}";
        else
        {
            var probe = RunProcess(Python, ["-c", "import torch, sentencepiece"], TimeSpan.FromMinutes(1));
            if (probe.ExitCode != 0)
                whyNot = $"{Python} cannot import torch and sentencepiece ({LastLine(probe.Error)}); install them with: {InstallHint}";
        }
        return whyNot is null ? new PythonPeers(bench) : null;
    }

    /// <summary>Runs PyTorch eager fp32 on a texts file; throughput as the script measures it (encoding only, after a warm-up batch).</summary>
    public PeerRun RunTorch(string model, string textsFile, int threads, int batchSize)
    {
        var result = RunScript("torch_baseline.py", [model, textsFile, "--threads", threads.ToString(), "--batch-size", batchSize.ToString()],
            TimeSpan.FromMinutes(30));
        var report = JsonNode.Parse(result.Lines[^2])!;
        return new PeerRun(
            Texts: (int)report["texts"]!,
            Tokens: (long)report["tokens"]!,
            Seconds: (double)report["seconds"]!,
            PeakRssBytes: result.PeakRssBytes,
            Version: "torch " + (string?)report["torch"]);
    }

    /// <summary>
    /// Runs the PyTorch fine-tuning peer (torch_train_baseline.py: FlagEmbedding's loss, AdamW, clipping) for
    /// <paramref name="steps"/> steps; a failure (e.g. the kernel killing it for memory) comes back as its status, not as an exception.
    /// </summary>
    public TrainPeerRun RunTorchTrain(string model, string trainFile, int threads, int steps, int batchSize, int groupSize, IReadOnlyList<string> extra)
    {
        var path = Path.Combine(_benchDirectory, "torch_train_baseline.py");
        if (!File.Exists(path)) return new TrainPeerRun(0, 0, 0, $"not run: {path} not found");
        var run = RunProcess(Python, ["-c", PeakRssWrapper, path, model, trainFile, "--threads", threads.ToString(), "--steps", steps.ToString(),
            "--batch-size", batchSize.ToString(), "--group-size", groupSize.ToString(), .. extra], TimeSpan.FromMinutes(60));
        var lines = run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (run.ExitCode != 0 || lines.Length < 2)
            return new TrainPeerRun(0, 0, 0, run.ExitCode is 137 or -9 ? "killed (SIGKILL: out of memory)" : $"failed (exit {run.ExitCode}): {LastLine(run.Error)}");
        var report = JsonNode.Parse(lines[^2])!;
        return new TrainPeerRun((double)report["seconds_per_step"]!, (long)report["tokens_per_step"]!, (long)JsonNode.Parse(lines[^1])!["peak_rss_kb"]! * 1024, "ok");
    }

    /// <summary>
    /// The plain export of <paramref name="model"/>, exported once and cached beside the checkpoint (torch writes the
    /// weights of a model over 2 GB as external data files, so the export gets its own folder, built under a temporary name).
    /// </summary>
    public string EnsureExport(string model, TextWriter log)
    {
        var folder = Path.Combine(model, "onnx-export");
        var onnx = Path.Combine(folder, "model.onnx");
        if (File.Exists(onnx)) return onnx;
        log.WriteLine($"exporting the plain ONNX peer once to {folder} (torch.onnx.export) ...");
        var watch = Stopwatch.StartNew();
        M3.Core.Training.Checkpoints.AtomicDirectory.Write(folder, temp => RunScript("onnx_export_baseline.py", [model, Path.Combine(temp, "model.onnx")], TimeSpan.FromMinutes(30)));
        log.WriteLine($"exported in {watch.Elapsed.TotalSeconds:F0} s");
        return onnx;
    }

    private ScriptResult RunScript(string script, IReadOnlyList<string> args, TimeSpan timeout)
    {
        var path = Path.Combine(_benchDirectory, script);
        var run = RunProcess(Python, ["-c", PeakRssWrapper, path, .. args], timeout);
        var lines = run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (run.ExitCode != 0 || lines.Length < 2)
            throw new InvalidOperationException($"{script} failed (exit {run.ExitCode}): {LastLine(run.Error)}");
        var peak = (long)JsonNode.Parse(lines[^1])!["peak_rss_kb"]! * 1024;
        return new ScriptResult(lines, peak);
    }

    private static string LastLine(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "no output";

    internal static (int ExitCode, string Output, string Error) RunProcess(string file, IReadOnlyList<string> args, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {file}");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args.Take(3))} did not finish in {timeout.TotalMinutes:F0} min");
        }
        return (process.ExitCode, output.Result, error.Result);
    }

    private sealed record ScriptResult(string[] Lines, long PeakRssBytes);
}

/// <summary>One fine-tuning peer run: median seconds per step after the first, real tokens per step, peak RSS, and "ok" or how it failed.</summary>
public sealed record TrainPeerRun(double SecondsPerStep, long TokensPerStep, long PeakRssBytes, string Status);

/// <summary>One peer run as its script reports it.</summary>
public sealed record PeerRun(int Texts, long Tokens, double Seconds, long PeakRssBytes, string Version);
