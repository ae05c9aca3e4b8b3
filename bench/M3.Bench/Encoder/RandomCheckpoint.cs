using M3.Core.Checkpoint;

namespace M3.Bench.Encoder;

/// <summary>
/// A full-size BGE-M3 checkpoint with random weights, in BAAI/bge-m3's files and formats (written by M3CheckpointWriter: config.json,
/// model.safetensors F32, colbert_linear.pt, sparse_linear.pt; plus the fixture's tokenizer files). Speed does not depend on the weights' values, so
/// random weights measure the real model's cost without downloading 2.3 GB. Generated once per seed and cached.
/// </summary>
internal static class RandomCheckpoint
{
    /// <summary>BGE-M3's sizes (XLM-RoBERTa-large with 8,194 positions).</summary>
    public static readonly M3Config FullSize = new(
        HiddenSize: 1024, NumHiddenLayers: 24, NumAttentionHeads: 16, IntermediateSize: 4096, MaxPositionEmbeddings: 8194,
        LayerNormEps: 1e-5, PadTokenId: 1, VocabSize: 250002, TypeVocabSize: 1, HiddenAct: "gelu");

    private const float InitStd = 0.02f; // BERT's initializer_range
    private const string CompleteMarker = ".complete";
    private static readonly string[] TokenizerFiles =
        ["sentencepiece.bpe.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"];

    /// <summary>The default cache folder, outside the repository: ~/.cache/m3sharp/bench.</summary>
    public static string DefaultCacheRoot => Path.Combine(
        Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "m3sharp", "bench");

    /// <summary>
    /// Returns the folder of the checkpoint for <paramref name="seed"/>, generating it first when it is not complete.
    /// The folder is built under a temporary name and renamed, so an interrupted run never leaves a half checkpoint in place.
    /// </summary>
    public static string Ensure(string cacheRoot, string fixtureDirectory, int seed, TextWriter log)
    {
        var directory = Path.Combine(cacheRoot, $"bge-m3-random-{seed}");
        if (File.Exists(Path.Combine(directory, CompleteMarker))) return directory;

        Directory.CreateDirectory(cacheRoot);
        var started = System.Diagnostics.Stopwatch.StartNew();
        log.WriteLine($"generating a full-size random checkpoint (seed {seed}) in {directory} ...");
        M3.Core.Training.Checkpoints.AtomicDirectory.Write(directory, temp =>
        {
            Generate(temp, fixtureDirectory, FullSize, seed);
            File.WriteAllText(Path.Combine(temp, CompleteMarker), $"seed {seed}\n");
        });
        log.WriteLine($"generated in {started.Elapsed.TotalSeconds:F1} s");
        return directory;
    }

    /// <summary>Writes a random checkpoint of any size into <paramref name="directory"/>, with the fixture's tokenizer files.</summary>
    /// <param name="sparseFill">The sparse head's weight and bias; null: normal(0, 0.02) like every other tensor.</param>
    internal static void Generate(string directory, string fixtureDirectory, M3Config config, int seed, TensorFiller? sparseFill = null)
    {
        foreach (var name in TokenizerFiles)
        {
            var source = Path.Combine(fixtureDirectory, name);
            if (!File.Exists(source)) throw new FileNotFoundException($"the fixture lacks {name}, needed for the benchmark checkpoint", source);
            File.Copy(source, Path.Combine(directory, name));
        }
        var fill = Filler(seed);
        M3CheckpointWriter.Write(directory, config, fill, fill, sparseFill ?? fill);
    }

    /// <summary>
    /// LayerNorm weights 1 and biases 0 (as a fresh model), every other tensor normal(0, 0.02). Values depend only on the seed,
    /// the tensor's name and the element index (one RNG stream per 1M-element chunk), so generation is parallel and reproducible.
    /// </summary>
    private static TensorFiller Filler(int seed) => (tensor, destination) =>
    {
        if (tensor.Name.Contains("LayerNorm", StringComparison.Ordinal))
        {
            destination.Fill(tensor.Name.EndsWith(".weight", StringComparison.Ordinal) ? 1f : 0f);
            return;
        }
        const int chunk = 1 << 20;
        // The heads are both named "weight"/"bias" in their files; the shape tells them apart.
        var nameHash = StableHash(tensor.Name + tensor.ShapeText);
        var length = destination.Length;
        var chunks = (length + chunk - 1) / chunk;
        unsafe
        {
            fixed (float* basePtr = destination)
            {
                var p = (nint)basePtr;
                Parallel.For(0, chunks, i =>
                {
                    var start = i * chunk;
                    var span = new Span<float>((float*)p + start, Math.Min(chunk, length - start));
                    var rng = new Normal(Mix((ulong)(uint)seed, nameHash, (ulong)i));
                    for (var j = 0; j < span.Length; j++) span[j] = InitStd * rng.Next();
                });
            }
        }
    };

    private static ulong StableHash(string text)
    {
        // FNV-1a: string.GetHashCode is randomized per process and would change the weights between runs.
        var h = 14695981039346656037UL;
        foreach (var ch in text) h = (h ^ ch) * 1099511628211UL;
        return h;
    }

    private static ulong Mix(ulong a, ulong b, ulong c) => SplitMix(SplitMix(SplitMix(a) ^ b) ^ c);

    private static ulong SplitMix(ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }

    /// <summary>Standard normal samples: xorshift64* uniforms through Box–Muller (both outputs used).</summary>
    private struct Normal(ulong state)
    {
        private ulong _state = state | 1;
        private float _spare;
        private bool _hasSpare;

        public float Next()
        {
            if (_hasSpare)
            {
                _hasSpare = false;
                return _spare;
            }
            var u1 = (NextULong() >> 11) * (1.0 / (1UL << 53)) + 1e-300; // (0, 1]: log stays finite
            var u2 = (NextULong() >> 11) * (1.0 / (1UL << 53));
            var r = Math.Sqrt(-2.0 * Math.Log(u1));
            var theta = 2.0 * Math.PI * u2;
            _spare = (float)(r * Math.Sin(theta));
            _hasSpare = true;
            return (float)(r * Math.Cos(theta));
        }

        private ulong NextULong()
        {
            _state ^= _state >> 12;
            _state ^= _state << 25;
            _state ^= _state >> 27;
            return _state * 2685821657736338717UL;
        }
    }
}
