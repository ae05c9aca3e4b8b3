using Google.Protobuf;
using M3.Core.Onnx.Proto;

namespace M3.Core.Onnx;

/// <summary>
/// Cuts a graph that computes some values and, from inputs given later, more (a forward pass and its backward pass) into
/// two graphs: the first computes <c>forwardOutputs</c> and every value the second reads from it (the saved
/// activations); the second takes the original inputs plus those saved values and computes the original outputs. So a
/// caller can look at the forward outputs (compute a loss from them) between the two runs without running the forward
/// nodes twice.
/// </summary>
internal static class GraphSplit
{
    public sealed record Result(byte[] Forward, byte[] Backward, IReadOnlyList<string> Saved);

    /// <param name="model">The whole graph; its outputs other than <paramref name="forwardOutputs"/> are the second graph's outputs.</param>
    /// <param name="forwardOutputs">Outputs of the whole graph that the first graph outputs (with the saved values after them).</param>
    /// <param name="laterInputs">Inputs only the second graph gets (and so does everything that depends on them).</param>
    public static Result Split(byte[] model, IReadOnlyList<string> forwardOutputs, IReadOnlySet<string> laterInputs)
    {
        var whole = ModelProto.Parser.ParseFrom(model);
        var graph = whole.Graph;
        var producer = new Dictionary<string, int>();
        for (int i = 0; i < graph.Node.Count; i++)
            foreach (var o in graph.Node[i].Output) producer[o] = i;

        // The first graph: what the forward outputs need.
        var first = new bool[graph.Node.Count];
        var pending = new Stack<string>(forwardOutputs);
        while (pending.TryPop(out var name))
        {
            if (!producer.TryGetValue(name, out var i) || first[i]) continue;
            if (graph.Node[i].Input.Any(laterInputs.Contains))
                throw new ArgumentException($"forward output {name} depends on an input given later");
            first[i] = true;
            foreach (var input in graph.Node[i].Input) pending.Push(input);
        }
        // Shapes of forward values go first too, so that a value the backward pass needs only for its shape is not saved whole.
        for (int i = 0; i < graph.Node.Count; i++)
            if (!first[i] && graph.Node[i].OpType == "Shape" && graph.Node[i].Input.All(x => !producer.TryGetValue(x, out var p) || first[p]) && !graph.Node[i].Input.Any(laterInputs.Contains))
                first[i] = true;

        var saved = new List<string>();
        var seen = new HashSet<string>();
        for (int i = 0; i < graph.Node.Count; i++)
            if (!first[i])
                foreach (var input in graph.Node[i].Input)
                    if (producer.TryGetValue(input, out var p) && first[p] && seen.Add(input)) saved.Add(input);

        var infos = graph.ValueInfo.ToDictionary(v => v.Name);
        var forward = Subgraph(whole, first, keep: true);
        forward.Graph.Input.Clear();
        forward.Graph.Input.AddRange(graph.Input.Where(i => !laterInputs.Contains(i.Name)));
        forward.Graph.Output.Clear();
        forward.Graph.Output.AddRange(forwardOutputs.Select(o => infos[o]));
        forward.Graph.Output.AddRange(saved.Select(s => Unshaped(infos[s])));

        var backward = Subgraph(whole, first, keep: false);
        backward.Graph.Input.AddRange(saved.Select(s => Unshaped(infos[s])));
        var laterOutputs = graph.Output.Where(o => !forwardOutputs.Contains(o.Name)).ToList();
        backward.Graph.Output.Clear();
        backward.Graph.Output.AddRange(laterOutputs);
        return new Result(forward.ToByteArray(), backward.ToByteArray(), saved);
    }

    /// <summary>The model with only the nodes whose flag equals <paramref name="keep"/> (inputs, outputs and initializers as they were).</summary>
    private static ModelProto Subgraph(ModelProto whole, bool[] first, bool keep)
    {
        var copy = whole.Clone();
        copy.Graph.Node.Clear();
        copy.Graph.Node.AddRange(whole.Graph.Node.Where((_, i) => first[i] == keep));
        var produced = copy.Graph.Node.SelectMany(n => n.Output).ToHashSet();
        var infos = copy.Graph.ValueInfo.Where(v => produced.Contains(v.Name)).ToList();
        copy.Graph.ValueInfo.Clear();
        copy.Graph.ValueInfo.AddRange(infos);
        return copy;
    }

    /// <summary>A value's element type and rank without its symbolic sizes, which described it inside one graph only.</summary>
    private static ValueInfoProto Unshaped(ValueInfoProto info)
    {
        var copy = info.Clone();
        foreach (var d in copy.Type.TensorType.Shape.Dim)
            if (d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam) d.ClearValue();
        return copy;
    }
}
