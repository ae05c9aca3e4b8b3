using M3.Core.Checkpoint;

namespace M3.Core.Tests.Checkpoint;

public sealed class M3CheckpointWriterTests : TempDirectoryTests
{
    // Deliberately unlike the fixture: odd sizes, 3 layers, 2 token types, pad id 0.
    private static readonly M3Config Config = new(HiddenSize: 12, NumHiddenLayers: 3, NumAttentionHeads: 3, IntermediateSize: 20,
        MaxPositionEmbeddings: 40, LayerNormEps: 1e-6, PadTokenId: 0, VocabSize: 57, TypeVocabSize: 2, HiddenAct: "gelu");

    /// <summary>
    /// Deterministic values that differ per tensor and element, each n/128 with |n| ≤ 127: seven significant bits,
    /// so F16 and BF16 hold them exactly and any difference after reading back is a bug.
    /// </summary>
    private static void Fill(TensorInfo tensor, Span<float> destination)
    {
        var seed = tensor.Name.Sum(c => c) % 255;
        for (var i = 0; i < destination.Length; i++) destination[i] = ((seed + i * 7) % 255 - 127) / 128f;
    }

    private static float[] Expected(string name, int[] shape)
    {
        var values = new float[CheckpointTensor.CountElements(shape)];
        Fill(new TensorInfo(name, shape, TensorDType.F32), values);
        return values;
    }

    [Theory]
    [InlineData((int)M3WeightsFormat.Safetensors, TensorDType.F32)]
    [InlineData((int)M3WeightsFormat.PyTorch, TensorDType.F32)]
    [InlineData((int)M3WeightsFormat.Safetensors, TensorDType.F16)]
    [InlineData((int)M3WeightsFormat.PyTorch, TensorDType.BF16)]
    public void Written_checkpoint_opens_with_its_config_and_values(int formatFlags, string dtype)
    {
        // An int, not the internal enum: xunit theories are public methods.
        var format = (M3WeightsFormat)formatFlags;
        var dir = PathOf("ckpt");
        M3CheckpointWriter.Write(dir, Config, Fill, format, dtype);
        using var checkpoint = M3Checkpoint.Open(dir);
        Assert.Equal(Config, checkpoint.Config);
        Assert.Equal(format == M3WeightsFormat.Safetensors ? M3Checkpoint.SafetensorsFileName : M3Checkpoint.PyTorchFileName,
            Path.GetFileName(checkpoint.Weights.FilePath));
        Assert.Contains("pooler.dense.weight", checkpoint.Weights.Tensors.Keys);
        foreach (var spec in checkpoint.EncoderTensors)
        {
            Assert.Equal(dtype, checkpoint.Weights.Tensors[spec.Name].DType);
            Assert.Equal(Expected(spec.Name, spec.Shape), checkpoint.ReadEncoderTensor(spec.Name).Data);
        }
        Assert.Equal(Expected("weight", [12, 12]), checkpoint.ColbertLinear.Weight.Data);
        Assert.Equal(Expected("weight", [1, 12]), checkpoint.SparseLinear.Weight.Data);
        Assert.Equal(Expected("bias", [1]), checkpoint.SparseLinear.Bias.Data);
    }

    [Fact]
    public void Both_formats_give_identical_tensors()
    {
        var dir = PathOf("both");
        M3CheckpointWriter.Write(dir, Config, Fill, M3WeightsFormat.Safetensors | M3WeightsFormat.PyTorch);
        using var safetensors = SafetensorsFile.Open(Path.Combine(dir, M3Checkpoint.SafetensorsFileName));
        using var pytorch = PyTorchZipFile.Open(Path.Combine(dir, M3Checkpoint.PyTorchFileName));
        Assert.Equal(safetensors.Tensors.Keys, pytorch.Tensors.Keys);
        foreach (var name in safetensors.Tensors.Keys)
            FixtureCheckpointTests.AssertBitIdentical(safetensors.Read(name), pytorch.Read(name));
    }

    [Fact]
    public void Config_round_trips_through_config_json()
    {
        var path = PathOf(M3Config.FileName);
        Config.WriteFile(path);
        Assert.Equal(Config, M3Config.LoadFile(path));
    }

    [Fact]
    public void Invalid_config_is_not_written()
    {
        var path = PathOf(M3Config.FileName);
        var e = Assert.Throws<CheckpointException>(() => (Config with { NumAttentionHeads = 5 }).WriteFile(path));
        Assert.Contains("not divisible", e.Message);
        Assert.False(File.Exists(path));
    }
}
