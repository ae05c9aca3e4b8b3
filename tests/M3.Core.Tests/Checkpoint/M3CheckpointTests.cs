using M3.Core.Checkpoint;
using M3.Tests;

namespace M3.Core.Tests.Checkpoint;

public sealed class M3CheckpointTests
{
    private const string Intermediate = "encoder.layer.1.intermediate.dense.weight";

    [Fact]
    public void Wrong_shape_names_file_tensor_and_both_shapes()
    {
        using var folder = new TempCheckpoint();
        var config = M3Config.Load(folder.Directory);
        folder.RewriteSafetensors(ts => ts.Select(t => t.Name == Intermediate
            ? t with { Shape = [config.HiddenSize, config.IntermediateSize] } // same size, transposed shape
            : t).ToList());
        var e = Assert.Throws<CheckpointException>(() => M3Checkpoint.Open(folder.Directory));
        Assert.Equal(folder.PathOf(M3Checkpoint.SafetensorsFileName), e.FilePath);
        Assert.Equal(Intermediate, e.TensorName);
        Assert.Contains($"[{config.HiddenSize}, {config.IntermediateSize}]", e.Message);
        Assert.Contains($"expected [{config.IntermediateSize}, {config.HiddenSize}]", e.Message);
    }

    [Fact]
    public void Missing_tensor_names_file_tensor_and_expected_shape()
    {
        using var folder = new TempCheckpoint();
        folder.RewriteSafetensors(ts => ts.Where(t => t.Name != "encoder.layer.0.attention.self.value.bias").ToList());
        var e = Assert.Throws<CheckpointException>(() => M3Checkpoint.Open(folder.Directory));
        Assert.Equal("encoder.layer.0.attention.self.value.bias", e.TensorName);
        Assert.Contains("missing", e.Message);
        Assert.Contains(M3Checkpoint.SafetensorsFileName, e.Message);
    }

    [Fact]
    public void Layers_beyond_the_config_are_refused()
    {
        using var folder = new TempCheckpoint();
        var layers = M3Config.Load(folder.Directory).NumHiddenLayers;
        folder.RewriteSafetensors(ts => ts.Append(ts.First(t => t.Name == Intermediate) with { Name = $"encoder.layer.{layers}.intermediate.dense.weight" }).ToList());
        var e = Assert.Throws<CheckpointException>(() => M3Checkpoint.Open(folder.Directory));
        Assert.Contains($"num_hidden_layers = {layers}", e.Message);
    }

    [Fact]
    public void Truncated_model_safetensors_is_refused_on_open()
    {
        using var folder = new TempCheckpoint();
        var path = folder.PathOf(M3Checkpoint.SafetensorsFileName);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^100]);
        var e = Assert.Throws<CheckpointException>(() => M3Checkpoint.Open(folder.Directory));
        Assert.Equal(path, e.FilePath);
        Assert.NotNull(e.TensorName);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void Unsupported_dtype_of_a_needed_tensor_is_refused_on_open()
    {
        using var folder = new TempCheckpoint();
        var path = folder.PathOf(M3Checkpoint.SafetensorsFileName);
        var bytes = File.ReadAllBytes(path);
        // Relabel the first tensor as an integer type of the same width, so only the dtype is wrong.
        var text = System.Text.Encoding.Latin1.GetString(bytes);
        var dtype = System.Text.RegularExpressions.Regex.Match(text, "\"(F32|F16|BF16)\"");
        var integer = dtype.Groups[1].Value == "F32" ? "\"I32\"" : "\"I16\"";
        System.Text.Encoding.Latin1.GetBytes(integer.PadRight(dtype.Length)).CopyTo(bytes, dtype.Index);
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<CheckpointException>(() => M3Checkpoint.Open(folder.Directory));
        Assert.Contains("unsupported dtype I", e.Message);
        Assert.NotNull(e.TensorName);
    }

    [Theory]
    [InlineData(TensorDType.F16)]
    [InlineData(TensorDType.BF16)]
    public void Half_precision_checkpoint_loads_with_rounded_values(string dtype)
    {
        using var folder = new TempCheckpoint();
        folder.RewriteSafetensors(ts => ts, dtype);
        using var reference = M3Checkpoint.Open(TestPaths.TinyM3);
        using var half = M3Checkpoint.Open(folder.Directory);
        Assert.All(half.Weights.Tensors.Values, t => Assert.Equal(dtype, t.DType));
        var expected = reference.ReadEncoderTensor(Intermediate).Data;
        var actual = half.ReadEncoderTensor(Intermediate).Data;
        var tolerance = dtype == TensorDType.F16 ? 1e-3 : 1e-2; // relative precision of the format (11 / 8 significant bits)
        for (var i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance * Math.Abs(expected[i]) + 1e-7, $"element {i}: {expected[i]} vs {actual[i]}");
    }

    [Theory]
    [InlineData("roberta.")]
    [InlineData("model.")]
    public void Prefixed_names_are_accepted(string prefix)
    {
        using var folder = new TempCheckpoint();
        folder.RewriteSafetensors(ts => ts.Select(t => t with { Name = prefix + t.Name }).ToList());
        using var reference = M3Checkpoint.Open(TestPaths.TinyM3);
        using var prefixed = M3Checkpoint.Open(folder.Directory);
        FixtureCheckpointTests.AssertBitIdentical(reference.ReadEncoderTensor(Intermediate), prefixed.ReadEncoderTensor(Intermediate));
    }

    [Theory]
    [InlineData(M3Checkpoint.ColbertFileName)]
    [InlineData(M3Checkpoint.SparseFileName)]
    public void Missing_head_names_the_file(string head)
    {
        using var folder = new TempCheckpoint(except: head);
        var e = Assert.Throws<CheckpointException>(() => M3Checkpoint.Open(folder.Directory));
        Assert.Equal(folder.PathOf(head), e.FilePath);
        Assert.Contains("head file not found", e.Message);
    }

    [Fact]
    public void Head_with_wrong_shape_names_the_file_and_tensor()
    {
        using var folder = new TempCheckpoint();
        var h = M3Config.Load(folder.Directory).HiddenSize;
        PyTorchZipWriter.Write(folder.PathOf(M3Checkpoint.SparseFileName),
            [new CheckpointTensor("weight", [2, h], new float[2 * h]), new CheckpointTensor("bias", [2], [0, 0])]);
        var e = Assert.Throws<CheckpointException>(() => M3Checkpoint.Open(folder.Directory));
        Assert.Equal(folder.PathOf(M3Checkpoint.SparseFileName), e.FilePath);
        Assert.Equal("weight", e.TensorName);
        Assert.Contains($"expected [1, {h}]", e.Message);
    }

    [Fact]
    public void Heads_written_by_the_writer_load_identically()
    {
        using var folder = new TempCheckpoint();
        using var reference = M3Checkpoint.Open(TestPaths.TinyM3);
        PyTorchZipWriter.Write(folder.PathOf(M3Checkpoint.ColbertFileName), [reference.ColbertLinear.Weight, reference.ColbertLinear.Bias]);
        using var rewritten = M3Checkpoint.Open(folder.Directory);
        FixtureCheckpointTests.AssertBitIdentical(reference.ColbertLinear.Weight, rewritten.ColbertLinear.Weight);
        FixtureCheckpointTests.AssertBitIdentical(reference.ColbertLinear.Bias, rewritten.ColbertLinear.Bias);
    }

    [Fact]
    public void Corrupt_pytorch_bin_is_a_clear_error()
    {
        using var folder = new TempCheckpoint(except: M3Checkpoint.SafetensorsFileName);
        var path = folder.PathOf(M3Checkpoint.PyTorchFileName);
        File.WriteAllBytes(path, new byte[4096]);
        var e = Assert.Throws<CheckpointException>(() => M3Checkpoint.Open(folder.Directory));
        Assert.Equal(path, e.FilePath);
        Assert.Contains("zip", e.Message);
    }

    [Fact]
    public void No_weights_lists_the_folder_and_what_was_expected()
    {
        using var folder = new TempCheckpoint(except: [M3Checkpoint.SafetensorsFileName, M3Checkpoint.PyTorchFileName]);
        var e = Assert.Throws<CheckpointException>(() => M3Checkpoint.Open(folder.Directory));
        Assert.Contains($"expected {M3Checkpoint.SafetensorsFileName} or {M3Checkpoint.PyTorchFileName}", e.Message);
        Assert.Contains(M3Checkpoint.ColbertFileName, e.Message);
    }

    [Fact]
    public void Missing_folder_is_a_clear_error()
    {
        var missing = Path.Combine(Path.GetTempPath(), "m3-no-such-checkpoint-" + Guid.NewGuid().ToString("N"));
        Assert.Contains("not found", Assert.Throws<CheckpointException>(() => M3Checkpoint.Open(missing)).Message);
    }

    [Fact]
    public void Content_key_is_stable_across_copies_and_changes_with_one_weight_byte()
    {
        using var folder = new TempCheckpoint();
        string original, copy;
        using (var a = M3Checkpoint.Open(TestPaths.TinyM3)) original = a.ComputeContentKey();
        using (var b = M3Checkpoint.Open(folder.Directory)) copy = b.ComputeContentKey();
        Assert.Equal(original, copy);
        Assert.Matches("^[0-9a-f]{64}$", original);

        var path = folder.PathOf(M3Checkpoint.SafetensorsFileName);
        var bytes = File.ReadAllBytes(path);
        bytes[^1] ^= 1; // lowest mantissa bit of the last weight
        File.WriteAllBytes(path, bytes);
        using var changed = M3Checkpoint.Open(folder.Directory);
        Assert.NotEqual(original, changed.ComputeContentKey());
    }

    [Fact]
    public void Content_key_covers_the_heads()
    {
        using var folder = new TempCheckpoint();
        using var reference = M3Checkpoint.Open(TestPaths.TinyM3);
        var bias = reference.SparseLinear.Bias with { Data = [reference.SparseLinear.Bias.Data[0] + 1] };
        PyTorchZipWriter.Write(folder.PathOf(M3Checkpoint.SparseFileName), [reference.SparseLinear.Weight, bias]);
        using var changed = M3Checkpoint.Open(folder.Directory);
        Assert.NotEqual(reference.ComputeContentKey(), changed.ComputeContentKey());
    }
}
