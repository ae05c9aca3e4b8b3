using M3.Core.Checkpoint;
using M3.Tests;

namespace M3.Core.Tests.Checkpoint;

public sealed class FixtureCheckpointTests
{
    [Fact]
    public void Opens_fixture_from_safetensors_with_config_and_heads()
    {
        using var checkpoint = M3Checkpoint.Open(TestPaths.TinyM3);
        var c = checkpoint.Config;
        Assert.Equal(M3Checkpoint.SafetensorsFileName, Path.GetFileName(checkpoint.Weights.FilePath));
        Assert.Equal(c.HiddenSize, checkpoint.ColbertLinear.Weight.Shape[0]);
        Assert.Equal([c.HiddenSize, c.HiddenSize], checkpoint.ColbertLinear.Weight.Shape);
        Assert.Equal([1, c.HiddenSize], checkpoint.SparseLinear.Weight.Shape);
        Assert.Equal([1], checkpoint.SparseLinear.Bias.Shape);
        Assert.Equal(5 + 16 * c.NumHiddenLayers, checkpoint.EncoderTensors.Count);
        foreach (var spec in checkpoint.EncoderTensors)
        {
            var tensor = checkpoint.ReadEncoderTensor(spec.Name);
            Assert.Equal(spec.Shape, tensor.Shape);
        }
    }

    [Fact]
    public void Layout_covers_every_fixture_tensor_but_the_unused_pooler()
    {
        using var checkpoint = M3Checkpoint.Open(TestPaths.TinyM3);
        var unused = checkpoint.Weights.Tensors.Keys.Except(checkpoint.EncoderTensors.Select(s => s.Name)).Order().ToList();
        Assert.Equal(["pooler.dense.bias", "pooler.dense.weight"], unused);
    }

    [Fact]
    public void Pytorch_bin_alone_gives_bit_identical_tensors()
    {
        var dir = TestPaths.NewTempDir();
        try
        {
            foreach (var file in Directory.EnumerateFiles(TestPaths.TinyM3))
                if (Path.GetFileName(file) != M3Checkpoint.SafetensorsFileName)
                    File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
            using var reference = M3Checkpoint.Open(TestPaths.TinyM3);
            using var fromBin = M3Checkpoint.Open(dir);
            Assert.IsType<PyTorchZipFile>(fromBin.Weights);
            Assert.Equal(reference.Config, fromBin.Config);
            foreach (var spec in reference.EncoderTensors)
                AssertBitIdentical(reference.ReadEncoderTensor(spec.Name), fromBin.ReadEncoderTensor(spec.Name));
            Assert.Equal(reference.Weights.Tensors.Keys.Order(), fromBin.Weights.Tensors.Keys.Order());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    internal static void AssertBitIdentical(CheckpointTensor expected, CheckpointTensor actual)
    {
        Assert.Equal(expected.Name, actual.Name);
        Assert.Equal(expected.Shape, actual.Shape);
        Assert.Equal(expected.Data.Select(BitConverter.SingleToInt32Bits), actual.Data.Select(BitConverter.SingleToInt32Bits));
    }
}
