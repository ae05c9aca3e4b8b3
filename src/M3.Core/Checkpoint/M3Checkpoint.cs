using System.Text.RegularExpressions;

namespace M3.Core.Checkpoint;

/// <summary>
/// A BGE-M3 checkpoint folder, opened and validated: <c>config.json</c>, the encoder weights
/// (<c>model.safetensors</c>, else <c>pytorch_model.bin</c>) and the heads <c>colbert_linear.pt</c> and <c>sparse_linear.pt</c>.
/// Every expected encoder tensor's name, shape and dtype is checked on open; data is read per tensor on request.
/// </summary>
internal sealed partial class M3Checkpoint : IDisposable
{
    public const string SafetensorsFileName = "model.safetensors";
    public const string PyTorchFileName = "pytorch_model.bin";
    public const string ColbertFileName = "colbert_linear.pt";
    public const string SparseFileName = "sparse_linear.pt";

    /// <summary>
    /// Prefixes under which a transformers model class nests the encoder (<c>XLMRobertaForMaskedLM</c> saves <c>roberta.*</c>,
    /// some wrappers save <c>model.*</c>). BGE-M3 itself saves bare names; the others are accepted so fine-tuned exports load too.
    /// </summary>
    private static readonly string[] AcceptedPrefixes = ["", "roberta.", "model."];

    private readonly string _prefix;
    private readonly Dictionary<string, TensorSpec> _specs;

    private M3Checkpoint(string directory, M3Config config, ITensorFile weights, string prefix, LinearWeights colbert, LinearWeights sparse)
    {
        Directory = directory;
        Config = config;
        Weights = weights;
        _prefix = prefix;
        ColbertLinear = colbert;
        SparseLinear = sparse;
        EncoderTensors = M3TensorLayout.Encoder(config);
        _specs = EncoderTensors.ToDictionary(s => s.Name, StringComparer.Ordinal);
    }

    /// <summary>The checkpoint folder (full path).</summary>
    public string Directory { get; }

    public M3Config Config { get; }

    /// <summary>The encoder weights file in use (<see cref="SafetensorsFile"/> or <see cref="PyTorchZipFile"/>).</summary>
    internal ITensorFile Weights { get; }

    /// <summary>The encoder tensors the model needs, in build order, with their validated shapes.</summary>
    public IReadOnlyList<TensorSpec> EncoderTensors { get; }

    /// <summary>ColBERT head: hidden → hidden.</summary>
    public LinearWeights ColbertLinear { get; }

    /// <summary>Sparse (lexical weight) head: hidden → 1.</summary>
    public LinearWeights SparseLinear { get; }

    /// <summary>Opens and validates a checkpoint folder; throws <see cref="CheckpointException"/> naming the file and tensor on any problem.</summary>
    public static M3Checkpoint Open(string directory)
    {
        directory = Path.GetFullPath(directory);
        if (!System.IO.Directory.Exists(directory))
            throw new CheckpointException(directory, null, "checkpoint folder not found");
        var config = M3Config.Load(directory);
        var weights = OpenWeights(directory);
        try
        {
            // The weights are checked against the config before the heads are read: the heads' shapes come from the config.
            var prefix = FindPrefix(weights);
            Validate(weights, prefix, config);
            var colbert = LoadHead(Path.Combine(directory, ColbertFileName), config.HiddenSize, config.HiddenSize);
            var sparse = LoadHead(Path.Combine(directory, SparseFileName), 1, config.HiddenSize);
            return new M3Checkpoint(directory, config, weights, prefix, colbert, sparse);
        }
        catch
        {
            weights.Dispose();
            throw;
        }
    }

    /// <summary>Reads one encoder tensor by its bare name (as in <see cref="EncoderTensors"/>).</summary>
    public CheckpointTensor ReadEncoderTensor(string name)
    {
        var spec = Spec(name);
        var data = new float[CheckpointTensor.CountElements(spec.Shape)];
        Weights.ReadInto(_prefix + name, data);
        return new CheckpointTensor(name, (int[])spec.Shape.Clone(), data);
    }

    /// <summary>Reads one encoder tensor into a caller buffer (for streaming large tensors without extra allocations).</summary>
    public void ReadEncoderTensorInto(string name, Span<float> destination)
    {
        Spec(name);
        Weights.ReadInto(_prefix + name, destination);
    }

    /// <summary>
    /// A SHA-256 hex key over config.json, the encoder weights file and both heads, for caching what is built from them.
    /// Reads every byte (seconds for the full-size model): call once and keep the result.
    /// </summary>
    public string ComputeContentKey() => CheckpointContentKey.Compute(ContentFiles);

    /// <summary>The files the model is built from (and <see cref="ComputeContentKey"/> covers).</summary>
    public IReadOnlyList<string> ContentFiles =>
    [
        Path.Combine(Directory, M3Config.FileName),
        Weights.FilePath,
        Path.Combine(Directory, ColbertFileName),
        Path.Combine(Directory, SparseFileName),
    ];

    public void Dispose() => Weights.Dispose();

    private TensorSpec Spec(string name) =>
        _specs.TryGetValue(name, out var spec) ? spec : throw new ArgumentException($"'{name}' is not a BGE-M3 encoder tensor", nameof(name));

    private static ITensorFile OpenWeights(string directory)
    {
        var safetensors = Path.Combine(directory, SafetensorsFileName);
        if (File.Exists(safetensors)) return SafetensorsFile.Open(safetensors);
        var pytorch = Path.Combine(directory, PyTorchFileName);
        if (File.Exists(pytorch)) return PyTorchZipFile.Open(pytorch);
        var present = System.IO.Directory.EnumerateFileSystemEntries(directory).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        throw new CheckpointException(directory, null,
            $"no encoder weights: expected {SafetensorsFileName} or {PyTorchFileName}; the folder has {(present.Count == 0 ? "nothing" : string.Join(", ", present))}");
    }

    private static string FindPrefix(ITensorFile weights)
    {
        const string probe = "embeddings.word_embeddings.weight";
        foreach (var prefix in AcceptedPrefixes)
            if (weights.Tensors.ContainsKey(prefix + probe)) return prefix;
        throw new CheckpointException(weights.FilePath, probe,
            $"missing (also looked for {string.Join(", ", AcceptedPrefixes.Where(p => p.Length > 0).Select(p => "'" + p + probe + "'"))}); the file has {weights.Tensors.Count} tensors" +
            (weights.Tensors.Count > 0 ? $", e.g. '{weights.Tensors.Keys.First()}'" : ""));
    }

    private static void Validate(ITensorFile weights, string prefix, M3Config config)
    {
        CheckLayerCount(weights, prefix, config);
        foreach (var spec in M3TensorLayout.Encoder(config))
        {
            if (!weights.Tensors.TryGetValue(prefix + spec.Name, out var info))
                throw new CheckpointException(weights.FilePath, prefix + spec.Name, $"missing; expected shape {spec.ShapeText} from {M3Config.FileName}");
            CheckTensor(weights.FilePath, info, spec.Shape);
        }
    }

    /// <summary>
    /// The layers the weights really hold against num_hidden_layers, before anything is built per declared layer: a config
    /// claiming millions of layers would otherwise cost memory and time in proportion to its claim, not to the file.
    /// A layer beyond the config is refused too: silently ignoring it would build a different model.
    /// </summary>
    private static void CheckLayerCount(ITensorFile weights, string prefix, M3Config config)
    {
        var layers = new HashSet<long>();
        foreach (var name in weights.Tensors.Keys)
        {
            var match = LayerIndex().Match(name);
            if (!match.Success || !name.StartsWith(prefix, StringComparison.Ordinal)) continue;
            if (!long.TryParse(match.Groups[1].Value, out var layer) || layer >= config.NumHiddenLayers)
                throw new CheckpointException(weights.FilePath, name,
                    $"belongs to layer {match.Groups[1].Value} but {M3Config.FileName} says num_hidden_layers = {config.NumHiddenLayers}");
            layers.Add(layer);
        }
        if (layers.Count < config.NumHiddenLayers)
            throw new CheckpointException(weights.FilePath, null,
                $"holds {layers.Count} encoder layers but {M3Config.FileName} says num_hidden_layers = {config.NumHiddenLayers}: " +
                "the config does not belong to these weights; use the config.json saved with them");
    }

    private static void CheckTensor(string path, TensorInfo info, int[] expected)
    {
        if (!info.Shape.AsSpan().SequenceEqual(expected))
            throw new CheckpointException(path, info.Name, $"shape {info.ShapeText} does not match the expected {CheckpointTensor.FormatShape(expected)}");
        if (!TensorDType.IsSupported(info.DType))
            throw new CheckpointException(path, info.Name, $"unsupported dtype {info.DType} (only F32, F16 and BF16 are read)");
    }

    private static LinearWeights LoadHead(string path, int outFeatures, int inFeatures)
    {
        if (!File.Exists(path))
            throw new CheckpointException(path, null, $"head file not found: BGE-M3 needs {ColbertFileName} and {SparseFileName} beside the encoder weights");
        using var file = PyTorchZipFile.Open(path);
        return new LinearWeights(
            ReadHeadTensor(file, "weight", [outFeatures, inFeatures]),
            ReadHeadTensor(file, "bias", [outFeatures]));
    }

    private static CheckpointTensor ReadHeadTensor(ITensorFile file, string name, int[] shape)
    {
        if (!file.Tensors.TryGetValue(name, out var info))
            throw new CheckpointException(file.FilePath, name, $"missing; expected shape {CheckpointTensor.FormatShape(shape)}");
        CheckTensor(file.FilePath, info, shape);
        return file.Read(name);
    }

    [GeneratedRegex(@"encoder\.layer\.(\d+)\.")]
    private static partial Regex LayerIndex();
}
