namespace M3.Core.Training;

/// <summary>
/// Dropout masks, fed to the training graphs as bool inputs. Each element's keep/drop decision is a hash of (seed, forward
/// step, site, the text's index in the batch, the element's position within that text) — counter-based, not a stream —
/// so the GradCache re-run of a sub-batch, a resumed run and a differently padded or split batch all draw the same masks.
/// ONNX Runtime's own random ops keep generator state inside a session, which would give the representation pass and
/// the gradient pass different masks.
/// </summary>
internal static class DropoutMasks
{
    /// <summary>Strides that place a hidden element (token, channel) or an attention element (head, query, key) independently of the padded length.</summary>
    private const long PositionStride = 1 << 14;

    /// <summary>Hidden-state mask [tokens, hidden] over the packed rows of <paramref name="texts"/>, texts <paramref name="firstText"/>… of a batch.</summary>
    public static bool[] Hidden(ulong siteKey, int firstText, IReadOnlyList<int[]> texts, int hidden, float p)
    {
        var offsets = new int[texts.Count + 1];
        for (int r = 0; r < texts.Count; r++) offsets[r + 1] = offsets[r] + texts[r].Length;
        var mask = new bool[offsets[^1] * hidden];
        Parallel.For(0, texts.Count, r =>
        {
            ulong key = Key(siteKey, firstText + r);
            for (int t = 0; t < texts[r].Length; t++)
            {
                int row = offsets[r] + t;
                for (int c = 0; c < hidden; c++) mask[row * hidden + c] = Keep(key, (ulong)(t * PositionStride + c), p);
            }
        });
        return mask;
    }

    /// <summary>Attention-probability mask [count, heads, seq, seq].</summary>
    public static bool[] Attention(ulong siteKey, int firstText, int count, int heads, int seq, float p)
    {
        var mask = new bool[count * heads * seq * seq];
        Parallel.For(0, count * heads * seq, row =>
        {
            int q = row % seq, head = row / seq % heads, r = row / seq / heads;
            ulong key = Key(siteKey, firstText + r);
            for (int k = 0; k < seq; k++) mask[row * seq + k] = Keep(key, (ulong)((head * PositionStride + q) * PositionStride + k), p);
        });
        return mask;
    }

    /// <summary>The key of one site in one forward step of a run.</summary>
    public static ulong SiteKey(int seed, int forwardStep, int site) => Mix(Mix(Mix((ulong)(uint)seed) ^ (ulong)(uint)forwardStep) ^ (ulong)(uint)site);

    private static ulong Key(ulong siteKey, int text) => Mix(siteKey ^ (ulong)(uint)text);

    private static bool Keep(ulong key, ulong index, float p) => (Mix(key + index * 0x9E3779B97F4A7C15UL) >> 40) >= (ulong)(p * (1 << 24));

    /// <summary>SplitMix64's finalizer: a bijective mix whose output bits look independent for consecutive inputs.</summary>
    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
