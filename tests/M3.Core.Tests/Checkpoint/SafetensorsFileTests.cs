using M3.Core.Checkpoint;
using M3.Tests;

namespace M3.Core.Tests.Checkpoint;

public sealed class SafetensorsFileTests : TempDirectoryTests
{
    private string WriteRaw(string header, byte[] data)
    {
        var path = PathOf("t.safetensors");
        File.WriteAllBytes(path, TempCheckpoint.RawSafetensors(header, data));
        return path;
    }

    [Fact]
    public void Reads_F16_exactly_including_subnormals_and_infinity()
    {
        // 1, -2.5, 65504 (largest half), 2^-24 (smallest subnormal), -inf
        var path = WriteRaw("""{"__metadata__":{"format":"pt"},"h":{"dtype":"F16","shape":[5],"data_offsets":[0,10]}}""",
            TempCheckpoint.UInt16s(0x3C00, 0xC100, 0x7BFF, 0x0001, 0xFC00));
        using var file = SafetensorsFile.Open(path);
        Assert.Equal("pt", file.Metadata["format"]);
        Assert.Equal([1f, -2.5f, 65504f, MathF.Pow(2, -24), float.NegativeInfinity], file.Read("h").Data);
    }

    [Fact]
    public void Reads_BF16_exactly_as_the_top_half_of_float32()
    {
        // 1, -2.5, largest finite bf16, smallest subnormal bf16, a 2-D shape
        var path = WriteRaw("""{"b":{"dtype":"BF16","shape":[2,2],"data_offsets":[0,8]}}""",
            TempCheckpoint.UInt16s(0x3F80, 0xC020, 0x7F7F, 0x0001));
        using var file = SafetensorsFile.Open(path);
        var tensor = file.Read("b");
        Assert.Equal([2, 2], tensor.Shape);
        Assert.Equal([1f, -2.5f, BitConverter.Int32BitsToSingle(0x7F7F0000), BitConverter.Int32BitsToSingle(0x00010000)], tensor.Data);
    }

    [Theory]
    [InlineData(TensorDType.F32)]
    [InlineData(TensorDType.F16)]
    [InlineData(TensorDType.BF16)]
    public void Writer_output_reads_back_with_the_dtype_rounding(string dtype)
    {
        float[] values = [0.1f, -3.75f, 1e-3f, 70000f, 0f];
        var path = PathOf("w.safetensors");
        SafetensorsWriter.Write(path, [new CheckpointTensor("x", [5], values), new CheckpointTensor("empty", [0, 3], [])], dtype);
        using var file = SafetensorsFile.Open(path);
        Assert.Equal(dtype, file.Tensors["x"].DType);
        Assert.Equal(["x", "empty"], file.Tensors.Keys);
        float[] expected = dtype switch
        {
            TensorDType.F16 => values.Select(v => (float)(Half)v).ToArray(),
            TensorDType.BF16 => [0.10009765625f, -3.75f, 0.00099945068359375f, 70144f, 0f],
            _ => values,
        };
        Assert.Equal(expected, file.Read("x").Data);
        Assert.Empty(file.Read("empty").Data);
    }

    [Fact]
    public void Truncated_file_names_the_tensor_that_runs_past_the_end()
    {
        var path = PathOf("t.safetensors");
        SafetensorsWriter.Write(path, [new CheckpointTensor("a", [4], [1, 2, 3, 4]), new CheckpointTensor("b", [4], [5, 6, 7, 8])]);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^3]);
        var e = Assert.Throws<CheckpointException>(() => SafetensorsFile.Open(path));
        Assert.Equal(path, e.FilePath);
        Assert.Equal("b", e.TensorName);
        Assert.Contains("truncated", e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Header_length_beyond_the_file_is_refused()
    {
        var bytes = TempCheckpoint.RawSafetensors("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", new byte[4]);
        bytes[0] = 0xFF; // header length now far beyond the file
        var path = PathOf("t.safetensors");
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<CheckpointException>(() => SafetensorsFile.Open(path));
        Assert.Contains("header length", e.Message);
        Assert.Contains(path, e.Message);
    }

    [Theory]
    [InlineData("""{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", 8, "a", "holds 8 bytes but shape [3] of F32 needs 12")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}""", 12, "b", "gap or overlap")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}""", 4, "a", "end before they begin")]
    [InlineData("""{"q":{"dtype":"Q4","shape":[2],"data_offsets":[0,1]}}""", 1, "q", "unknown dtype Q4")]
    public void Inconsistent_layout_names_the_tensor(string header, int dataBytes, string tensor, string expected)
    {
        var path = WriteRaw(header, new byte[dataBytes]);
        var e = Assert.Throws<CheckpointException>(() => SafetensorsFile.Open(path));
        Assert.Equal(tensor, e.TensorName);
        Assert.Contains(expected, e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Unsupported_dtype_is_listed_but_refused_when_read()
    {
        var path = WriteRaw("""{"ids":{"dtype":"I32","shape":[2],"data_offsets":[0,8]},"w":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}""", new byte[12]);
        using var file = SafetensorsFile.Open(path);
        Assert.Equal("I32", file.Tensors["ids"].DType);
        Assert.Equal([0f], file.Read("w").Data);
        var e = Assert.Throws<CheckpointException>(() => file.Read("ids"));
        Assert.Equal("ids", e.TensorName);
        Assert.Contains("unsupported dtype I32", e.Message);
        Assert.Contains(path, e.Message);
    }

    [Theory]
    [InlineData("not json", "not valid JSON")]
    [InlineData("""[1,2]""", "JSON object")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1]}}""", "data_offsets")]
    [InlineData("""{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}""", "non-negative")]
    public void Malformed_headers_are_clear_errors(string header, string expected)
    {
        var path = WriteRaw(header, []);
        var e = Assert.Throws<CheckpointException>(() => SafetensorsFile.Open(path));
        Assert.Contains(expected, e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void File_shorter_than_the_length_prefix_is_refused()
    {
        var path = PathOf("t.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);
        Assert.Contains("too short", Assert.Throws<CheckpointException>(() => SafetensorsFile.Open(path)).Message);
    }
}
