using M3.Core.Checkpoint;
using M3.Tests;

namespace M3.Core.Tests.Checkpoint;

public sealed class PyTorchZipFileTests : TempDirectoryTests
{
    [Fact]
    public void Fixture_heads_are_state_dicts_of_weight_and_bias()
    {
        using var colbert = PyTorchZipFile.Open(Path.Combine(TestPaths.TinyM3, M3Checkpoint.ColbertFileName));
        Assert.Equal(["weight", "bias"], colbert.Tensors.Keys);
        Assert.All(colbert.Tensors.Values, t => Assert.Equal(TensorDType.F32, t.DType));
    }

    /// <summary>
    /// Saved once by real torch 1.13: <c>torch.save(sd)</c> where <c>sd = nn.Linear(3, 2).state_dict()</c> (weight [[1,2,3],[4,5,6]],
    /// bias [0.5,-0.5]; its <c>_metadata</c> pickles as BUILD) plus "half" (F16 [1,-2.5,65504]), "bf16" (BF16 [1,-2.5,0.1]),
    /// "full" = arange(12), "view" = full[2:8].view(2,3) and "transposed" = full.view(3,4).t(), sharing full's storage.
    /// </summary>
    [Fact]
    public void Reads_a_state_dict_saved_by_real_torch()
    {
        using var file = PyTorchZipFile.Open(Path.Combine(TestPaths.RepoRoot, "tests", "M3.Core.Tests", "Checkpoint", "Assets", "torch_state_dict.pt"));
        Assert.Equal(["weight", "bias", "half", "bf16", "view", "transposed", "full"], file.Tensors.Keys);
        Assert.Equal([1f, 2, 3, 4, 5, 6], file.Read("weight").Data);
        Assert.Equal([2, 3], file.Read("weight").Shape);
        Assert.Equal([0.5f, -0.5f], file.Read("bias").Data);
        Assert.Equal(TensorDType.F16, file.Tensors["half"].DType);
        Assert.Equal([1f, -2.5f, 65504f], file.Read("half").Data);
        Assert.Equal(TensorDType.BF16, file.Tensors["bf16"].DType);
        Assert.Equal([1f, -2.5f, 0.10009765625f], file.Read("bf16").Data);
        Assert.Equal([2f, 3, 4, 5, 6, 7], file.Read("view").Data);
        Assert.Equal([4, 3], file.Read("transposed").Shape);
        Assert.Equal([0f, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11], file.Read("transposed").Data);
        Assert.Equal(Enumerable.Range(0, 12).Select(i => (float)i), file.Read("full").Data);
    }

    [Theory]
    [InlineData(TensorDType.F32)]
    [InlineData(TensorDType.F16)]
    [InlineData(TensorDType.BF16)]
    public void Writer_and_reader_agree_with_safetensors_for_each_dtype(string dtype)
    {
        var weight = new CheckpointTensor("weight", [2, 3], [1f, -2.5f, 0.1f, 65504f, 3e-5f, float.NegativeInfinity]);
        var bias = new CheckpointTensor("bias", [2], [0.25f, -0.2f]);
        PyTorchZipWriter.Write(PathOf("head.pt"), [weight, bias], dtype);
        SafetensorsWriter.Write(PathOf("head.safetensors"), [weight, bias], dtype);
        using var pt = PyTorchZipFile.Open(PathOf("head.pt"));
        using var st = SafetensorsFile.Open(PathOf("head.safetensors"));
        Assert.Equal(dtype, pt.Tensors["weight"].DType);
        foreach (var name in new[] { "weight", "bias" })
            FixtureCheckpointTests.AssertBitIdentical(st.Read(name), pt.Read(name));
        if (dtype == TensorDType.F32) Assert.Equal(weight.Data, pt.Read("weight").Data);
    }

    [Fact]
    public void Storage_offset_and_shared_storage_are_honoured()
    {
        // Two tensors viewing one storage: "a" = elements 0..3 as [2,2], "b" = elements 4..5 as [2].
        var pickle = new PickleBytes().Op(0x80, 2).Op('}').Op('(')
            .Str("a").Tensor("0", 6, 0, [2, 2], [2, 1])
            .Str("b").Tensor("0", 6, 4, [2], [1])
            .Op('u').Op('.').ToArray();
        PickleBytes.WriteZip(PathOf("m.pt"), pickle, ("0", [1, 2, 3, 4, 5, 6]));
        using var file = PyTorchZipFile.Open(PathOf("m.pt"));
        Assert.Equal([1f, 2, 3, 4], file.Read("a").Data);
        Assert.Equal([5f, 6], file.Read("b").Data);
    }

    [Fact]
    public void Non_contiguous_view_is_gathered_by_strides()
    {
        // A transposed [3,2] view of a row-major [2,3] storage.
        var pickle = new PickleBytes().Op(0x80, 2).Op('}').Str("t").Tensor("0", 6, 0, [3, 2], [1, 3]).Op('s').Op('.').ToArray();
        PickleBytes.WriteZip(PathOf("t.pt"), pickle, ("0", [1, 2, 3, 4, 5, 6]));
        using var file = PyTorchZipFile.Open(PathOf("t.pt"));
        Assert.Equal([1f, 4, 2, 5, 3, 6], file.Read("t").Data);
    }

    [Theory]
    [InlineData("os", "system")]
    [InlineData("builtins", "eval")]
    [InlineData("torch", "load")]
    public void Forbidden_global_is_refused_without_running_anything(string module, string name)
    {
        var pickle = new PickleBytes().Op(0x80, 2).Global(module, name).Op('(').Str("echo hacked").Op('t').Op('R').Op('.').ToArray();
        PickleBytes.WriteZip(PathOf("evil.pt"), pickle);
        var e = Assert.Throws<CheckpointException>(() => PyTorchZipFile.Open(PathOf("evil.pt")));
        Assert.Contains($"'{module}.{name}'", e.Message);
        Assert.Contains("not allowed", e.Message);
        Assert.Contains(PathOf("evil.pt"), e.Message);
    }

    [Fact]
    public void Corrupt_zip_is_a_clear_error()
    {
        File.WriteAllBytes(PathOf("bad.pt"), "this is not a zip archive at all, just text"u8.ToArray());
        var e = Assert.Throws<CheckpointException>(() => PyTorchZipFile.Open(PathOf("bad.pt")));
        Assert.Contains("not a readable zip archive", e.Message);
        Assert.Contains(PathOf("bad.pt"), e.Message);
    }

    [Fact]
    public void Truncated_zip_is_a_clear_error()
    {
        var bytes = File.ReadAllBytes(Path.Combine(TestPaths.TinyM3, M3Checkpoint.SparseFileName));
        File.WriteAllBytes(PathOf("cut.pt"), bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<CheckpointException>(() => PyTorchZipFile.Open(PathOf("cut.pt")));
        Assert.Contains(PathOf("cut.pt"), e.Message);
    }

    [Fact]
    public void Storage_smaller_than_the_view_names_the_tensor() =>
        AssertOpenFails(new PickleBytes().Tensor("0", 4, 0, [2, 3], [3, 1]), ("0", [1, 2, 3, 4]), "beyond the storage");

    [Fact]
    public void Storage_entry_with_wrong_size_names_the_tensor() =>
        AssertOpenFails(new PickleBytes().Tensor("0", 4, 0, [4], [1]), ("0", [1, 2, 3]), "holds 12 bytes");

    [Fact]
    public void Missing_storage_entry_names_the_tensor() =>
        AssertOpenFails(new PickleBytes().Tensor("7", 1, 0, [1], [1]), ("0", [1]), "'archive/data/7' is missing");

    /// <summary>A state dict {"w": <paramref name="tensor"/>} over <paramref name="storage"/> must fail to open, naming "w".</summary>
    private void AssertOpenFails(PickleBytes tensor, (string, float[]) storage, string expected)
    {
        var pickle = new PickleBytes().Op(0x80, 2).Op('}').Str("w").Op(tensor.ToArray()).Op('s').Op('.').ToArray();
        PickleBytes.WriteZip(PathOf("w.pt"), pickle, storage);
        var e = Assert.Throws<CheckpointException>(() => PyTorchZipFile.Open(PathOf("w.pt")));
        Assert.Equal("w", e.TensorName);
        Assert.Contains(expected, e.Message);
        Assert.Contains(PathOf("w.pt"), e.Message);
    }

    [Fact]
    public void Int64_storage_is_listed_but_refused_when_read()
    {
        var pickle = new PickleBytes().Op(0x80, 2).Op('}').Str("position_ids").Tensor("0", 2, 0, [2], [1], "LongStorage").Op('s').Op('.').ToArray();
        PickleBytes.WriteZip(PathOf("ids.pt"), pickle, ("0", [0, 0, 0, 0]));
        using var file = PyTorchZipFile.Open(PathOf("ids.pt"));
        Assert.Equal("I64", file.Tensors["position_ids"].DType);
        var e = Assert.Throws<CheckpointException>(() => file.Read("position_ids"));
        Assert.Contains("unsupported dtype I64", e.Message);
        Assert.Equal("position_ids", e.TensorName);
    }

    [Theory]
    [InlineData(new byte[] { 0x80, 2, (byte)'}' }, "without a STOP")]
    [InlineData(new byte[] { 0x80, 2, (byte)'K', 1, (byte)'.' }, "expected a state dict")]
    [InlineData(new byte[] { 0x80, 2, 0xff }, "unsupported pickle opcode 0xff")]
    [InlineData(new byte[] { 0x80, 2, (byte)'h', 3, (byte)'.' }, "memo entry 3")]
    [InlineData(new byte[] { 0x80, 2, (byte)'}', (byte)'K', 1, (byte)'K', 2, (byte)'s', (byte)'.' }, "not a string")]
    public void Malformed_pickles_are_clear_errors(byte[] pickle, string expected)
    {
        PickleBytes.WriteZip(PathOf("p.pt"), pickle);
        var e = Assert.Throws<CheckpointException>(() => PyTorchZipFile.Open(PathOf("p.pt")));
        Assert.Contains(expected, e.Message);
        Assert.Contains("archive/data.pkl", e.Message);
    }
}
