using System.Text.Json;
using M3.Cli.Commands;
using M3.Core.Tests.Training;
using M3.Tests;

namespace M3.Cli.Tests;

/// <summary>The command's plumbing (options, log, output, errors) over a closed-form stand-in engine.</summary>
[Collection("Console")]
public sealed class TrainCommandTests
{
    private static readonly string Data = Path.Combine(TestPaths.TinyM3, "train_golden.train.jsonl");

    [Fact]
    public void Trains_logs_every_step_and_writes_the_model()
    {
        var dir = TestPaths.NewTempDir();
        var (output, log) = (Path.Combine(dir, "out"), Path.Combine(dir, "logs", "log.jsonl")); // a log folder that does not exist yet
        AnalyticGradientModel? model = null;
        var command = TrainCommand.Create((d, o) => model = new AnalyticGradientModel(d, o));
        var (code, stdout, stderr) = CliRun.Invoke(command, "--model", TestPaths.TinyM3, "--data", Data, "--output", output,
            "--no-shuffle", "--batch-size", "2", "--group-size", "4", "--lr", "1e-3", "--warmup-steps", "1", "--max-steps", "3",
            "--self-distill", "--self-distill-start-step", "1", "--sub-batch-size", "3", "--dropout", "0", "--temperature", "0.05", "--log-json", log);

        Assert.True(code == 0, stderr);
        Assert.True(model!.Objective is { SelfDistill: true, SelfDistillStartStep: 1, SubBatchSize: 3, Dropout: 0f, Temperature: 0.05f, Unified: true });
        var lines = File.ReadAllLines(log).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal([0, 1, 2], lines.Select(l => l.GetProperty("step").GetInt32()));
        Assert.Equal([0, 1e-3, 5e-4], lines.Select(l => l.GetProperty("lr").GetDouble()));
        Assert.Equal(["step", "lr", "loss", "loss_dense", "loss_sparse", "loss_colbert", "loss_ensemble", "loss_distill", "grad_norm", "tokens", "seconds"],
            lines[0].EnumerateObject().Select(p => p.Name));
        Assert.Equal(JsonValueKind.Null, lines[0].GetProperty("loss_distill").ValueKind);
        Assert.Equal(model.Batches[2].TokenCount, lines[2].GetProperty("tokens").GetInt64());
        var summary = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(3, summary.GetProperty("steps").GetInt32());
        Assert.Equal(Path.GetFullPath(output), summary.GetProperty("output").GetString());
        Assert.True(File.Exists(Path.Combine(output, "model.safetensors")));
    }

    [Fact]
    public void Gradients_only_needs_no_output_and_passes_the_objective()
    {
        var prefix = Path.Combine(TestPaths.NewTempDir(), "grads");
        AnalyticGradientModel? model = null;
        var command = TrainCommand.Create((d, o) => model = new AnalyticGradientModel(d, o));
        var (code, _, stderr) = CliRun.Invoke(command, "--model", TestPaths.TinyM3, "--data", Data, "--no-shuffle", "--group-size", "4", "--batch-size", "2",
            "--teacher-scores", "--kd-loss", "kl_div", "--dense-only", "--gradients-only", prefix);

        Assert.True(code == 0, stderr);
        Assert.True(model!.Objective is { TeacherScores: true, KdLoss: M3.Core.Training.KdLossType.KlDiv, Unified: false });
        Assert.Equal(8, model.Batches[0].TeacherScores!.Length);
        Assert.True(File.Exists(prefix + ".json") && File.Exists(prefix + ".safetensors"));
    }

    [Fact]
    public void Bad_input_fails_with_one_clear_line()
    {
        var dir = TestPaths.NewTempDir();
        var bad = Path.Combine(dir, "bad.jsonl");
        File.WriteAllText(bad, "{\"query\": \"q\", \"pos\": \"not a list\", \"neg\": []}\n");
        var command = TrainCommand.Create((d, o) => new AnalyticGradientModel(d, o));

        var (code, _, stderr) = CliRun.Invoke(command, "--model", TestPaths.TinyM3, "--data", bad, "--output", Path.Combine(dir, "o"));
        Assert.Equal(1, code);
        Assert.Contains($"{bad}:1: expected \"pos\": a list of strings", stderr);

        (code, _, stderr) = CliRun.Invoke(command, "--model", TestPaths.TinyM3, "--data", Data);
        Assert.Equal(1, code);
        Assert.Contains("--output is required", stderr);

        (code, _, stderr) = CliRun.Invoke(command, "--model", TestPaths.TinyM3, "--data", Data, "--output", Path.Combine(dir, "o"), "--dense-only", "--self-distill");
        Assert.Equal(1, code);
        Assert.Contains("--self-distill needs the unified loss", stderr);

        (code, _, stderr) = CliRun.Invoke(command, "--model", TestPaths.TinyM3, "--data", Data, "--output", Path.Combine(dir, "o"), "--threads", "-1");
        Assert.Equal(1, code);
        Assert.Contains("--threads must be >= 0", stderr);
    }

    [Fact]
    public void One_thread_computes_the_same_loss_on_the_engine()
    {
        var dir = TestPaths.NewTempDir();
        string[] common = ["--model", TestPaths.TinyM3, "--data", Data, "--no-shuffle", "--dropout", "0", "--group-size", "4", "--batch-size", "2"];
        var (code, _, stderr) = CliRun.Invoke(TrainCommand.Create(), [.. common, "--gradients-only", Path.Combine(dir, "all")]);
        Assert.True(code == 0, stderr);
        (code, _, stderr) = CliRun.Invoke(TrainCommand.Create(), [.. common, "--threads", "1", "--gradients-only", Path.Combine(dir, "one")]);
        Assert.True(code == 0, stderr);
        double Total(string name) => JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, name + ".json"))).RootElement.GetProperty("total").GetDouble();
        Assert.Equal(Total("all"), Total("one"), 1e-5);
    }
}
