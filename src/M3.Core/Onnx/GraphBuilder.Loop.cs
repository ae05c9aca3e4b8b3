using M3.Core.Onnx.Proto;
using DataType = M3.Core.Onnx.Proto.TensorProto.Types.DataType;

namespace M3.Core.Onnx;

// ONNX Loop, built like If's branches: the body's nodes go into a subgraph that reads the enclosing graph's values.
internal sealed partial class GraphBuilder
{
    /// <summary>
    /// ONNX Loop run <paramref name="tripCount"/> (int64 scalar) times, with loop-carried values: <paramref name="body"/> gets
    /// the iteration number (int64 scalar) and the carried values, and returns their next values (same element types and
    /// ranks; sizes may change from one iteration to the next). Returns the carried values after the last iteration.
    /// <paramref name="shapes"/> are the shape rules of the carried values inside the body and of the results.
    /// </summary>
    public GraphValue[] Loop(GraphValue tripCount, GraphValue[] initial, Dim[][] shapes, Func<GraphValue, GraphValue[], GraphValue[]> body)
    {
        RequireType(tripCount, "Loop trip count", DataType.Int64);
        if (tripCount.Rank != 0) throw new ArgumentException($"Loop: trip count {tripCount} is not a scalar");
        if (shapes.Length != initial.Length) throw new ArgumentException($"Loop: {shapes.Length} shape rules for {initial.Length} carried values");
        for (int i = 0; i < initial.Length; i++)
            if (initial[i].Rank != shapes[i].Length) throw new ArgumentException($"Loop: carried value {initial[i]} does not have rank {shapes[i].Length}");

        var sub = new GraphProto { Name = Fresh("Loop_body") };
        var iteration = Declare(Fresh("loop_iteration"), DataType.Int64, []);
        var conditionIn = Declare(Fresh("loop_condition"), DataType.Bool, []);
        var carriedIn = initial.Select((v, i) => Declare(Fresh("loop_carried"), v.Type, shapes[i])).ToArray();
        sub.Input.Add(ValueInfo(iteration));
        sub.Input.Add(ValueInfo(conditionIn));
        sub.Input.AddRange(carriedIn.Select(ValueInfo));

        var outer = _current;
        _current = sub;
        try
        {
            var next = body(iteration, carriedIn);
            if (next.Length != initial.Length) throw new ArgumentException($"Loop: the body returns {next.Length} values for {initial.Length} carried ones");
            // Every iteration runs: the condition passes through unchanged.
            sub.Output.Add(ValueInfo(Identity(conditionIn)));
            for (int i = 0; i < next.Length; i++)
            {
                if (next[i].Type != initial[i].Type || next[i].Rank != shapes[i].Length)
                    throw new ArgumentException($"Loop: the body's value {next[i]} does not match carried value {initial[i]}");
                // A body output must be produced inside the body, and each by its own node.
                var result = sub.Node.Any(n => n.Output.Contains(next[i].Name)) && !next[..i].Contains(next[i]) ? next[i] : Identity(next[i]);
                sub.Output.Add(ValueInfo(result));
            }
        }
        finally { _current = outer; }

        var outputs = initial.Select((v, i) => Declare(Fresh("Loop"), v.Type, shapes[i])).ToArray();
        var node = new NodeProto { OpType = "Loop", Name = outputs[0].Name + "_node" };
        node.Input.Add(tripCount.Name);
        node.Input.Add(""); // no condition: the trip count alone ends the loop
        node.Input.AddRange(initial.Select(v => v.Name));
        node.Output.AddRange(outputs.Select(v => v.Name));
        node.Attribute.Add(new AttributeProto { Name = "body", Type = AttributeProto.Types.AttributeType.Graph, G = sub });
        _current.Node.Add(node);
        foreach (var v in outputs) _current.ValueInfo.Add(ValueInfo(v));
        return outputs;
    }
}
