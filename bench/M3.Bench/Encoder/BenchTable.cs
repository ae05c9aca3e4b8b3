using Spectre.Console;

namespace M3.Bench.Encoder;

/// <summary>The report as tables on stdout.</summary>
public static class BenchTable
{
    public static void Print(BenchReport r)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors });
        console.Profile.Width = 160; // stdout is usually redirected to a file or log: do not wrap at 80 columns
        var m = r.Machine;
        console.WriteLine($"BGE-M3 encoder benchmark{(r.Quick ? " (--quick)" : "")}, {r.Date:yyyy-MM-dd HH:mm} UTC");
        console.WriteLine($"{m.Cpu}, {m.LogicalCores} logical cores [{m.CpuFlags}], {m.MemoryGiB} GiB; {m.Os}; {m.Runtime}; ONNX Runtime {m.OnnxRuntime}; {m.Threads} threads");
        console.WriteLine($"ours int8: attention's products in {(r.Int8Attention ? "int8 (M3Sharp's native operator)" : "float32 (ONNX Runtime's; the native operator is not available here)")}");
        console.WriteLine($"{r.Rounds} rounds, each one timed pass per engine and workload in turn (after a warm-up); rates: the median pass; ratios: per round, median (min–max)");
        console.WriteLine($"fp32 MatMul ceiling through ONNX Runtime: {(r.CeilingGflops is { } c ? $"{c:F0} GFLOP/s (rounds: {string.Join(", ", r.CeilingRounds.Select(x => x.ToString("F0")))})" : "not measured")}");
        foreach (var (name, w) in r.Workloads)
            console.WriteLine($"workload {name}: {w.Texts} texts, {w.Tokens} tokens ({w.MinTokens}–{w.MaxTokens} per text), batches of ≤{w.BatchSize}{(w.MaxBatchTokens is { } b ? $" and ≤{b} padded tokens" : "")}");

        var table = new Table().AddColumns("engine", "workload", "tokens/s", "texts/s", "seconds (rounds)", "padding", "GFLOP/s", "of ceiling", "peak RSS");
        foreach (var (_, e) in r.Engines)
        {
            foreach (var (workload, t) in e.Workloads)
                table.AddRow(e.Engine, workload, $"{t.TokensPerSecond:F0}", $"{t.TextsPerSecond:F1}", string.Join(" ", t.RoundSeconds.Select(x => x.ToString("F1"))), $"{t.PaddingWaste:P1}",
                    $"{t.Gflops:F0}", r.CeilingGflops is { } ceiling ? $"{t.Gflops / ceiling:P0}" : "-", $"{e.PeakRssBytes / (double)(1 << 20):F0} MiB");
        }
        console.Write(table);

        if (r.Kernels.Count > 0)
        {
            var kernels = new Table().AddColumns("kernel (2048 tokens)", "K×N", "GFLOP/s");
            foreach (var k in r.Kernels) kernels.AddRow(k.Kernel, $"{k.K}×{k.N}", $"{k.Gflops:F0}");
            console.Write(kernels);
        }

        var ratios = new Table().AddColumns("mode", "workload", "× plain ONNX export", "× PyTorch eager");
        foreach (var (mode, perWorkload) in r.Ratios)
            foreach (var (workload, p) in perWorkload)
                ratios.AddRow(mode, workload, p.VsOrtExport?.ToString() ?? "-", p.VsTorch?.ToString() ?? "-");
        console.Write(ratios);

        var fidelity = new Table().AddColumns("int8 vs fp32", "texts", "mean dense cos", "min dense cos", "max ColBERT score diff", "max sparse weight diff");
        foreach (var (checkpoint, f) in r.Fidelity)
            if (f is not null)
                fidelity.AddRow(checkpoint, f.Texts.ToString(), $"{f.MeanDenseCosine:F5}", $"{f.MinDenseCosine:F5}", $"{f.MaxColbertScoreDiff:E2}", $"{f.MaxSparseWeightDiff:E2}");
            else
                fidelity.AddRow(checkpoint, "-", "not measured", "", "", "");
        console.Write(fidelity);
        foreach (var note in r.Notes) console.WriteLine("note: " + note);
    }
}
