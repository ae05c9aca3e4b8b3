using M3.Cli.Commands;
using M3.Core.Checkpoint;
using M3.Tests;

namespace M3.Cli.Tests;

/// <summary><c>m3 train --resume</c> on the engine: continuing from a checkpoint ends with the uninterrupted run's weights.</summary>
[Collection("Console")]
public sealed class TrainResumeTests
{
    [Fact]
    public void Resuming_from_a_checkpoint_ends_with_the_uninterrupted_runs_weights()
    {
        var dir = TestPaths.NewTempDir();
        string[] run =
        [
            "--model", TestPaths.TinyM3, "--data", Path.Combine(TestPaths.TinyM3, "train_golden.train.jsonl"), "--dropout", "0", "--group-size", "3",
            "--batch-size", "2", "--self-distill", "--lr", "1e-3", "--warmup-ratio", "0.2", "--max-steps", "5", "--save-steps", "2", "--seed", "3",
        ];
        var (a, b) = (Path.Combine(dir, "a"), Path.Combine(dir, "b"));
        var (code, _, stderr) = CliRun.Invoke(TrainCommand.Create(), [.. run, "--output", a]);
        Assert.True(code == 0, stderr);

        // b holds only a's step-2 checkpoint, as if the run had stopped right after writing it.
        CopyDirectory(Path.Combine(a, "checkpoint-2"), Path.Combine(b, "checkpoint-2"));
        (code, var stdout, stderr) = CliRun.Invoke(TrainCommand.Create(), [.. run, "--output", b, "--resume"]);
        Assert.True(code == 0, stderr);
        Assert.Contains("\"resumed_from_step\":2", stdout);

        using var expected = M3Checkpoint.Open(a);
        using var actual = M3Checkpoint.Open(b);
        foreach (var spec in expected.EncoderTensors)
            Assert.Equal(expected.ReadEncoderTensor(spec.Name).Data, actual.ReadEncoderTensor(spec.Name).Data);
        Assert.Equal(expected.ColbertLinear.Weight.Data, actual.ColbertLinear.Weight.Data);
        Assert.Equal(expected.SparseLinear.Weight.Data, actual.SparseLinear.Weight.Data);
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
    }
}
