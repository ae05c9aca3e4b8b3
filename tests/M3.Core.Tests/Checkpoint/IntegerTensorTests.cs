using System.Buffers.Binary;
using System.Text.Json;
using M3.Core.Checkpoint;
using M3.Tests;

namespace M3.Core.Tests.Checkpoint;

public class IntegerTensorTests
{
    [Fact]
    public void I64_tensors_round_trip_as_exact_integers_in_safetensors()
    {
        var path = Path.Combine(TestPaths.NewTempDir(), "rows.safetensors");
        float[] rows = [0, 3, 250001, 16777216];
        SafetensorsWriter.Write(path, [new TensorInfo("x.rows", [4], TensorDType.I64), new TensorInfo("x.values", [4, 1], TensorDType.F32)],
            (info, d) => (info.Name == "x.rows" ? rows : [0.5f, 1.5f, 2.5f, 3.5f]).CopyTo(d));

        // The stored bytes are little-endian int64, as torch and numpy read them.
        var raw = File.ReadAllBytes(path);
        var headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(raw);
        using var header = JsonDocument.Parse(raw.AsMemory(8, headerLength));
        var entry = header.RootElement.GetProperty("x.rows");
        Assert.Equal("I64", entry.GetProperty("dtype").GetString());
        var start = 8 + headerLength + entry.GetProperty("data_offsets")[0].GetInt32();
        Assert.Equal(250001L, BinaryPrimitives.ReadInt64LittleEndian(raw.AsSpan(start + 16, 8)));

        using var file = SafetensorsFile.Open(path);
        Assert.Equal(rows, file.Read("x.rows").Data);
    }

    [Fact]
    public void Integers_float32_cannot_hold_exactly_are_refused()
    {
        var path = Path.Combine(TestPaths.NewTempDir(), "bad.safetensors");
        foreach (var bad in new[] { 1.5f, 16777218f })
        {
            var e = Assert.Throws<ArgumentException>(() => SafetensorsWriter.Write(path, [new TensorInfo("r", [1], TensorDType.I64)], (_, d) => d[0] = bad));
            Assert.Contains("I64", e.Message);
        }
        Assert.False(File.Exists(path));
        Assert.Throws<ArgumentException>(() => PyTorchZipWriter.Write(path, [new TensorInfo("r", [1], TensorDType.I64)], (_, d) => d[0] = 1));
    }
}
