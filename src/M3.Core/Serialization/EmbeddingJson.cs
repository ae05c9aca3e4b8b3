using System.Text.Json;
using M3.Core.Representations;

namespace M3.Core.Serialization;

/// <summary>
/// The JSON shapes of M3 representations, shared by the CLI's JSON Lines and the HTTP server:
/// <c>{"dense": [...], "sparse": {"&lt;token id&gt;": weight, …}, "colbert": [[...], …]}</c>, each only when present.
/// Floats are written in shortest round-trip form, so a reader gets the exact float32 values back.
/// </summary>
public static class EmbeddingJson
{
    /// <summary>
    /// Writes one embedding as an object; <paramref name="tokenOf"/>, when given, adds <c>"sparse_tokens": {"id": "piece"}</c>;
    /// <paramref name="id"/>, when given, comes first as <c>"id"</c> (what <c>m3 index add --representations</c> reads).
    /// </summary>
    public static void Write(Utf8JsonWriter w, M3Embedding e, Func<int, string>? tokenOf = null, string? id = null)
    {
        w.WriteStartObject();
        if (id != null) w.WriteString("id", id);
        if (e.Dense is { } dense)
        {
            w.WritePropertyName("dense");
            WriteVector(w, dense);
        }
        if (e.Sparse is { } sparse)
        {
            w.WriteStartObject("sparse");
            for (int i = 0; i < sparse.Count; i++)
                w.WriteNumber(sparse.Ids[i].ToString(System.Globalization.CultureInfo.InvariantCulture), sparse.Weights[i]);
            w.WriteEndObject();
            if (tokenOf != null)
            {
                w.WriteStartObject("sparse_tokens");
                foreach (var token in sparse.Ids)
                    w.WriteString(token.ToString(System.Globalization.CultureInfo.InvariantCulture), tokenOf(token));
                w.WriteEndObject();
            }
        }
        if (e.Colbert is { } colbert)
        {
            w.WriteStartArray("colbert");
            for (int r = 0; r < colbert.Count; r++) WriteVector(w, colbert[r]);
            w.WriteEndArray();
        }
        w.WriteEndObject();
    }

    /// <summary>FlagEmbedding's five pair scores: <c>{"dense", "sparse", "colbert", "sparse+dense", "colbert+sparse+dense"}</c>.</summary>
    public static void WriteScores(Utf8JsonWriter w, M3.Core.Scoring.PairScores s)
    {
        w.WriteStartObject();
        w.WriteNumber("dense", s.Dense);
        w.WriteNumber("sparse", s.Sparse);
        w.WriteNumber("colbert", s.Colbert);
        w.WriteNumber("sparse+dense", s.SparseDense);
        w.WriteNumber("colbert+sparse+dense", s.ColbertSparseDense);
        w.WriteEndObject();
    }

    /// <summary>A tokenized text: <c>{"ids": [...], "tokens": [...]}</c>.</summary>
    public static void WriteTokens(Utf8JsonWriter w, M3.Tokenization.TokenizedText t)
    {
        w.WriteStartObject();
        w.WriteStartArray("ids");
        foreach (int id in t.Ids) w.WriteNumberValue(id);
        w.WriteEndArray();
        w.WriteStartArray("tokens");
        foreach (var token in t.Tokens) w.WriteStringValue(token);
        w.WriteEndArray();
        w.WriteEndObject();
    }

    public static void WriteVector(Utf8JsonWriter w, ReadOnlySpan<float> values)
    {
        w.WriteStartArray();
        foreach (var v in values) w.WriteNumberValue(v);
        w.WriteEndArray();
    }

    /// <summary>Reads an object written by <see cref="Write"/> back (for clients and tests).</summary>
    public static M3Embedding Read(JsonElement obj, int tokenCount = 0)
    {
        float[]? dense = obj.TryGetProperty("dense", out var d) ? d.EnumerateArray().Select(x => x.GetSingle()).ToArray() : null;
        SparseVector? sparse = obj.TryGetProperty("sparse", out var s)
            ? SparseVector.FromPairs(s.EnumerateObject().Select(p => new KeyValuePair<int, float>(int.Parse(p.Name, System.Globalization.CultureInfo.InvariantCulture), p.Value.GetSingle())))
            : null;
        MultiVector? colbert = null;
        if (obj.TryGetProperty("colbert", out var c))
        {
            var rows = c.EnumerateArray().Select(r => r.EnumerateArray().Select(x => x.GetSingle()).ToArray()).ToList();
            int dim = rows.Count > 0 ? rows[0].Length : Math.Max(dense?.Length ?? 1, 1);
            colbert = new MultiVector(rows.SelectMany(r => r).ToArray(), dim);
        }
        return new M3Embedding(dense, sparse, colbert, tokenCount);
    }
}
