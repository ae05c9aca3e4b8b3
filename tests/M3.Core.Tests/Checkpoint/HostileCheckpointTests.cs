using System.IO.Compression;
using System.Text.Json.Nodes;
using M3.Core.Checkpoint;

namespace M3.Core.Tests.Checkpoint;

/// <summary>Checkpoint folders made to hurt: configs that lie about sizes, zips that lie about members, pickles that inflate.</summary>
public sealed class HostileCheckpointTests : IDisposable
{
    private readonly TempCheckpoint _folder = new();

    public void Dispose() => _folder.Dispose();

    [Theory]
    [InlineData(int.MaxValue)]
    [InlineData(1_000_000)]
    [InlineData(3)]
    public void Layer_count_beyond_the_weights_is_refused_before_anything_is_built_per_layer(int layers)
    {
        var real = M3Config.Load(_folder.Directory).NumHiddenLayers;
        EditConfig("num_hidden_layers", layers);

        var e = Assert.Throws<CheckpointException>(() => M3Checkpoint.Open(_folder.Directory));

        Assert.Equal(_folder.PathOf(M3Checkpoint.SafetensorsFileName), e.FilePath);
        Assert.Contains($"holds {real} encoder layers", e.Message);
        Assert.Contains($"num_hidden_layers = {layers}", e.Message);
        Assert.Contains("use the config.json saved with them", e.Message);
    }

    [Theory]
    [InlineData("hidden_size", 1 << 28, "embeddings.word_embeddings.weight")]
    [InlineData("intermediate_size", int.MaxValue, "encoder.layer.0.intermediate.dense.weight")]
    [InlineData("vocab_size", int.MaxValue, "embeddings.word_embeddings.weight")]
    [InlineData("max_position_embeddings", int.MaxValue, "embeddings.position_embeddings.weight")]
    public void Huge_declared_size_is_checked_against_the_weights_before_the_heads_are_read(string field, int value, string tensor)
    {
        EditConfig(field, value);

        var e = Assert.Throws<CheckpointException>(() => M3Checkpoint.Open(_folder.Directory));

        Assert.Equal(_folder.PathOf(M3Checkpoint.SafetensorsFileName), e.FilePath);
        Assert.Equal(tensor, e.TensorName);
        Assert.Contains(value.ToString(), e.Message);
    }

    [Fact]
    public void Pickle_inflating_beyond_any_state_dict_is_refused_without_reading_it()
    {
        var bomb = _folder.PathOf("bomb.pt");
        using (var zip = new ZipArchive(File.Create(bomb), ZipArchiveMode.Create))
        using (var s = zip.CreateEntry("archive/data.pkl", CompressionLevel.SmallestSize).Open())
            s.Write(new byte[PyTorchZipFile.MaxPickleBytes + 1]);

        var e = Assert.Throws<CheckpointException>(() => PyTorchZipFile.Open(bomb));

        Assert.Equal(bomb, e.FilePath);
        Assert.Contains("'archive/data.pkl' declares", e.Message);
        Assert.Contains("download it again", e.Message);
    }

    [Fact]
    public void Pytorch_bin_whose_pickle_is_a_zip_bomb_names_the_file()
    {
        using var folder = new TempCheckpoint(except: M3Checkpoint.SafetensorsFileName);
        var path = folder.PathOf(M3Checkpoint.PyTorchFileName);
        var pickle = ReadMember(path, "data.pkl");
        using (var zip = new ZipArchive(File.Open(path, FileMode.Open), ZipArchiveMode.Update))
        {
            var entry = zip.Entries.Single(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal));
            var name = entry.FullName;
            entry.Delete();
            using var s = zip.CreateEntry(name, CompressionLevel.SmallestSize).Open();
            s.Write(pickle);
            s.Write(new byte[PyTorchZipFile.MaxPickleBytes]); // after STOP: harmless to a pickle reader, but 64 MiB to inflate
        }

        var e = Assert.Throws<CheckpointException>(() => M3Checkpoint.Open(folder.Directory));

        Assert.Equal(path, e.FilePath);
        Assert.Contains("data.pkl", e.Message);
    }

    [Theory]
    [InlineData(0xF000_0000u, null, "declares 4026531840 bytes")]
    [InlineData(null, 0x7000_0000u, "declares")]
    public void Storage_member_whose_declared_size_no_zip_can_hold_is_refused(uint? uncompressed, uint? compressed, string expected)
    {
        var path = WriteStateDict(numel: 4, values: [1, 2, 3, 4]);
        PickleBytes.DeclareSizes(path, "archive/data/0", uncompressed, compressed);

        var e = Assert.Throws<CheckpointException>(() => PyTorchZipFile.Open(path));

        Assert.Equal(path, e.FilePath);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Storage_member_declared_longer_than_it_inflates_is_refused_when_read()
    {
        var path = WriteStateDict(numel: 16, values: [1, 2, 3, 4]);
        PickleBytes.DeclareSizes(path, "archive/data/0", uncompressed: 64);

        var e = Assert.Throws<CheckpointException>(() =>
        {
            using var file = PyTorchZipFile.Open(path);
            file.Read("w");
        });

        Assert.Equal(path, e.FilePath);
        Assert.Equal("w", e.TensorName);
        Assert.Contains("archive/data/0", e.Message);
    }

    [Theory]
    [InlineData(-4)]
    [InlineData(+4)]
    public void Pickle_member_whose_declared_size_lies_is_refused(int delta)
    {
        var path = WriteStateDict(numel: 4, values: [1, 2, 3, 4]);
        var real = ReadMember(path, "data.pkl").Length;
        PickleBytes.DeclareSizes(path, "archive/data.pkl", uncompressed: (uint)(real + delta));

        var e = Assert.Throws<CheckpointException>(() => PyTorchZipFile.Open(path));

        Assert.Equal(path, e.FilePath);
        Assert.Contains("archive/data.pkl", e.Message);
    }

    [Theory]
    [InlineData(new[] { int.MaxValue, int.MaxValue, int.MaxValue }, new[] { 0, 0, 0 }, "more elements than its storage")]
    [InlineData(new[] { 1 << 30, 1 << 30 }, new[] { 1 << 30, 1 }, "beyond the storage")]
    public void View_that_claims_more_than_its_storage_is_refused_on_open(int[] size, int[] stride, string expected)
    {
        var pickle = new PickleBytes().Op(0x80, 2).Op('}').Str("w").Tensor("0", 4, 0, size, stride).Op('s').Op('.').ToArray();
        var path = _folder.PathOf("view.pt");
        PickleBytes.WriteZip(path, pickle, ("0", [1, 2, 3, 4]));

        var e = Assert.Throws<CheckpointException>(() => PyTorchZipFile.Open(path));

        Assert.Equal("w", e.TensorName);
        Assert.Contains(expected, e.Message);
    }

    private string WriteStateDict(int numel, float[] values)
    {
        var pickle = new PickleBytes().Op(0x80, 2).Op('}').Str("w").Tensor("0", numel, 0, [numel], [1]).Op('s').Op('.').ToArray();
        var path = _folder.PathOf("w.pt");
        PickleBytes.WriteZip(path, pickle, ("0", values));
        return path;
    }

    private static byte[] ReadMember(string zipPath, string suffix)
    {
        using var zip = ZipFile.OpenRead(zipPath);
        using var s = zip.Entries.Single(e => e.FullName.EndsWith(suffix, StringComparison.Ordinal)).Open();
        using var m = new MemoryStream();
        s.CopyTo(m);
        return m.ToArray();
    }

    private void EditConfig(string field, int value)
    {
        var path = _folder.PathOf(M3Config.FileName);
        var json = JsonNode.Parse(File.ReadAllText(path))!;
        json[field] = value;
        File.WriteAllText(path, json.ToJsonString());
    }
}
