namespace M3.Core.Onnx;

/// <summary>One dimension of a tensor shape: a fixed size, or a symbol such as "batch" that is only known at run time.</summary>
internal readonly record struct Dim(long Value, string? Symbol)
{
    public static implicit operator Dim(long value) => new(value, null);
    public static implicit operator Dim(string symbol) => new(-1, symbol ?? throw new ArgumentNullException(nameof(symbol)));
    public bool IsFixed => Symbol == null;
    public override string ToString() => Symbol ?? Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>A tensor's element type and shape as the builder tracks them, so every node's output is checked when it is created.</summary>
internal sealed record GraphValue(string Name, Proto.TensorProto.Types.DataType Type, Dim[] Shape)
{
    public int Rank => Shape.Length;
    public override string ToString() => $"{Name}: {Type}[{string.Join(",", Shape)}]";
}
