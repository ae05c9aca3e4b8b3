using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace M3.Core.Checkpoint;

/// <summary>A storage referenced by a persistent id: <c>('storage', torch.XStorage, key, location, numel)</c>.</summary>
internal sealed record TorchStorageRef(string DType, string Key, long ElementCount);

/// <summary>The arguments of <c>torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)</c>.</summary>
internal sealed record TorchTensorRef(TorchStorageRef Storage, long Offset, int[] Shape, long[] Strides);

/// <summary>
/// A pickle virtual machine for the subset <c>torch.save</c> emits for a state dict. It never imports or calls anything:
/// GLOBAL resolves only a fixed allow-list (tensor rebuild functions, OrderedDict, storage type markers), and REDUCE
/// only builds tensors and dicts from those. Written by hand because .NET has no pickle reader, and executing arbitrary
/// globals would let a checkpoint run code.
/// </summary>
internal sealed class RestrictedUnpickler
{
    private sealed record Global(string Module, string Name)
    {
        public override string ToString() => Module + "." + Name;
    }

    private sealed class PickleDict : Dictionary<object, object?>;

    private static readonly Dictionary<string, string> StorageDTypes = new(StringComparer.Ordinal)
    {
        ["FloatStorage"] = TensorDType.F32,
        ["HalfStorage"] = TensorDType.F16,
        ["BFloat16Storage"] = TensorDType.BF16,
        // Refused when read, but recognised so the error can name the dtype (e.g. an int64 position_ids buffer).
        ["DoubleStorage"] = "F64",
        ["LongStorage"] = "I64",
        ["IntStorage"] = "I32",
        ["ShortStorage"] = "I16",
        ["CharStorage"] = "I8",
        ["ByteStorage"] = "U8",
        ["BoolStorage"] = "BOOL",
    };

    private static readonly Global RebuildTensor = new("torch._utils", "_rebuild_tensor_v2");
    private static readonly Global RebuildParameter = new("torch._utils", "_rebuild_parameter");
    private static readonly Global OrderedDict = new("collections", "OrderedDict");

    private readonly byte[] _data;
    private readonly string _source;
    private readonly List<object?> _stack = [];
    private readonly Stack<int> _marks = new();
    private readonly Dictionary<long, object?> _memo = [];
    private int _pos;

    private RestrictedUnpickler(byte[] data, string source)
    {
        _data = data;
        _source = source;
    }

    /// <summary>Runs the pickle and returns its result as a state dict of name → tensor reference.</summary>
    /// <param name="source">How to name the pickle in errors, e.g. "model.pt (archive/data.pkl)".</param>
    /// <param name="filePath">The file for <see cref="CheckpointException.FilePath"/>.</param>
    public static Dictionary<string, TorchTensorRef> LoadStateDict(byte[] pickle, string filePath, string source)
    {
        var machine = new RestrictedUnpickler(pickle, source);
        object? result;
        try
        {
            result = machine.Run();
        }
        catch (PickleException e)
        {
            throw new CheckpointException(filePath, null, $"{source}: {e.Message}");
        }
        if (result is not PickleDict dict)
            throw new CheckpointException(filePath, null, $"{source}: expected a state dict (name → tensor), found {Describe(result)}");
        var tensors = new Dictionary<string, TorchTensorRef>(StringComparer.Ordinal);
        foreach (var (key, value) in dict)
        {
            if (key is not string name)
                throw new CheckpointException(filePath, null, $"{source}: state dict key {Describe(key)} is not a string");
            tensors[name] = value as TorchTensorRef
                ?? throw new CheckpointException(filePath, name, $"{source}: value is {Describe(value)}, not a tensor");
        }
        return tensors;
    }

    private sealed class PickleException(string message) : Exception(message);

    private object? Run()
    {
        while (true)
        {
            if (_pos >= _data.Length) throw Fail("ends without a STOP opcode (truncated)");
            var opOffset = _pos;
            var op = _data[_pos++];
            switch (op)
            {
                case 0x80: ReadBytes(1); break; // PROTO n
                case 0x95: ReadBytes(8); break; // FRAME: framing is only a read-ahead hint
                case (byte)'.': // STOP
                    if (_stack.Count != 1) throw Fail($"STOP with {_stack.Count} values on the stack");
                    return _stack[0];
                case (byte)'(': _marks.Push(_stack.Count); break; // MARK
                case (byte)'}': Push(new PickleDict()); break; // EMPTY_DICT
                case (byte)']': Push(new List<object?>()); break; // EMPTY_LIST
                case (byte)')': Push(Array.Empty<object?>()); break; // EMPTY_TUPLE
                case (byte)'N': Push(null); break; // NONE
                case 0x88: Push(true); break; // NEWTRUE
                case 0x89: Push(false); break; // NEWFALSE
                case (byte)'t': Push(PopMark().ToArray()); break; // TUPLE
                case 0x85: Push(new[] { Pop() }); break; // TUPLE1
                case 0x86: { var b = Pop(); var a = Pop(); Push(new[] { a, b }); break; } // TUPLE2
                case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); Push(new[] { a, b, c }); break; } // TUPLE3
                case (byte)'l': Push(PopMark()); break; // LIST
                case (byte)'d': { var dict = new PickleDict(); AddPairs(dict, PopMark()); Push(dict); break; } // DICT
                case (byte)'q': _memo[ReadBytes(1)[0]] = Peek(); break; // BINPUT
                case (byte)'r': _memo[BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4))] = Peek(); break; // LONG_BINPUT
                case 0x94: _memo[_memo.Count] = Peek(); break; // MEMOIZE
                case (byte)'h': Push(Recall(ReadBytes(1)[0])); break; // BINGET
                case (byte)'j': Push(Recall(BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4)))); break; // LONG_BINGET
                case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(ReadBytes(4))); break; // BININT
                case (byte)'K': Push((long)ReadBytes(1)[0]); break; // BININT1
                case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(ReadBytes(2))); break; // BININT2
                case 0x8a: Push(ReadLong(ReadBytes(1)[0])); break; // LONG1
                case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(ReadBytes(8))); break; // BINFLOAT
                case (byte)'X': Push(ReadString(BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4)))); break; // BINUNICODE
                case 0x8c: Push(ReadString(ReadBytes(1)[0])); break; // SHORT_BINUNICODE
                case 0x8d: Push(ReadString(BinaryPrimitives.ReadUInt64LittleEndian(ReadBytes(8)))); break; // BINUNICODE8
                case (byte)'c': { var module = ReadLine(); var name = ReadLine(); Push(Resolve(module, name)); break; } // GLOBAL
                case 0x93:
                    {
                        var name = Pop() as string; var module = Pop() as string; // STACK_GLOBAL
                        if (name == null || module == null) throw Fail("STACK_GLOBAL needs two strings");
                        Push(Resolve(module, name)); break;
                    }
                case (byte)'Q': Push(PersistentLoad(Pop())); break; // BINPERSID
                case (byte)'R': { var args = Pop(); var callable = Pop(); Push(Reduce(callable, args)); break; } // REDUCE
                case (byte)'s': { var value = Pop(); var key = Pop(); AddPairs(PeekDict(), [key, value]); break; } // SETITEM
                case (byte)'u': { var items = PopMark(); AddPairs(PeekDict(), items); break; } // SETITEMS
                case (byte)'a': { var value = Pop(); PeekList().Add(value); break; } // APPEND
                case (byte)'e': { var items = PopMark(); PeekList().AddRange(items); break; } // APPENDS
                case (byte)'b': Build(Pop()); break; // BUILD
                default: throw Fail($"unsupported pickle opcode 0x{op:x2} at byte {opOffset}");
            }
        }
    }

    private PickleException Fail(string message) => new(message);

    private void Push(object? value) => _stack.Add(value);

    private object? Pop()
    {
        if (_stack.Count == 0 || (_marks.Count > 0 && _marks.Peek() == _stack.Count)) throw Fail($"stack underflow at byte {_pos - 1}");
        var value = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        return value;
    }

    private object? Peek() => _stack.Count > 0 ? _stack[^1] : throw Fail($"stack empty at byte {_pos - 1}");

    private PickleDict PeekDict() => Peek() as PickleDict ?? throw Fail($"expected a dict on the stack at byte {_pos - 1}, found {Describe(Peek())}");

    private List<object?> PeekList() => Peek() as List<object?> ?? throw Fail($"expected a list on the stack at byte {_pos - 1}");

    private List<object?> PopMark()
    {
        if (_marks.Count == 0) throw Fail($"no MARK before byte {_pos - 1}");
        var start = _marks.Pop();
        var items = _stack.GetRange(start, _stack.Count - start);
        _stack.RemoveRange(start, _stack.Count - start);
        return items;
    }

    private object? Recall(long index) => _memo.TryGetValue(index, out var value) ? value : throw Fail($"memo entry {index} read before it was written");

    private void AddPairs(PickleDict dict, List<object?> items)
    {
        if (items.Count % 2 != 0) throw Fail("odd number of items for a dict");
        for (var i = 0; i < items.Count; i += 2)
        {
            var key = items[i] ?? throw Fail("dict key is None");
            if (key is not (string or long or bool)) throw Fail($"dict key {Describe(key)} is not a string or number");
            dict[key] = items[i + 1];
        }
    }

    private ReadOnlySpan<byte> ReadBytes(long count)
    {
        if (count > _data.Length - _pos) throw Fail($"truncated: needs {count} bytes at byte {_pos}");
        var span = _data.AsSpan(_pos, (int)count);
        _pos += (int)count;
        return span;
    }

    private string ReadString(ulong length)
    {
        if (length > (ulong)(_data.Length - _pos)) throw Fail($"truncated: string of {length} bytes at byte {_pos}");
        return Encoding.UTF8.GetString(ReadBytes((long)length));
    }

    private string ReadLine()
    {
        var end = Array.IndexOf(_data, (byte)'\n', _pos);
        if (end < 0) throw Fail($"truncated: unterminated GLOBAL name at byte {_pos}");
        var text = System.Text.Encoding.ASCII.GetString(_data, _pos, end - _pos);
        _pos = end + 1;
        return text;
    }

    private object ReadLong(int length)
    {
        if (length > 8) throw Fail($"integer of {length} bytes is too large");
        var value = new BigInteger(ReadBytes(length), isUnsigned: false, isBigEndian: false);
        return (long)value;
    }

    private Global Resolve(string module, string name)
    {
        var global = new Global(module, name);
        var allowed = global == RebuildTensor || global == RebuildParameter || global == OrderedDict
            || (module == "torch" && StorageDTypes.ContainsKey(name));
        if (!allowed)
            throw Fail($"refers to the global '{module}.{name}', which is not allowed: only tensor rebuild functions, collections.OrderedDict and torch storage types may appear in a weights file");
        return global;
    }

    private TorchStorageRef PersistentLoad(object? pid)
    {
        if (pid is object?[] { Length: 5 } t && t[0] is "storage" && t[1] is Global type && type.Module == "torch"
            && StorageDTypes.TryGetValue(type.Name, out var dtype) && t[2] is string key && t[4] is long numel && numel >= 0)
            return new TorchStorageRef(dtype, key, numel);
        throw Fail($"persistent id {Describe(pid)} is not ('storage', torch.XStorage, key, location, numel)");
    }

    private object? Reduce(object? callable, object? args)
    {
        if (args is not object?[] a) throw Fail($"REDUCE arguments must be a tuple, found {Describe(args)}");
        if (OrderedDict.Equals(callable) && a.Length == 0) return new PickleDict();
        if (RebuildTensor.Equals(callable) && a.Length is >= 4 and <= 7 && a[0] is TorchStorageRef storage && a[1] is long offset
            && a[2] is object?[] size && a[3] is object?[] stride && size.Length == stride.Length)
        {
            var shape = new int[size.Length];
            var strides = new long[size.Length];
            for (var i = 0; i < size.Length; i++)
            {
                if (size[i] is not long d || d < 0 || d > int.MaxValue || stride[i] is not long s || s < 0)
                    throw Fail($"tensor size {Describe(size)} / stride {Describe(stride)} must be non-negative integers");
                shape[i] = (int)d;
                strides[i] = s;
            }
            return new TorchTensorRef(storage, offset, shape, strides);
        }
        if (RebuildParameter.Equals(callable) && a.Length == 3 && a[0] is TorchTensorRef tensor) return tensor;
        throw Fail($"REDUCE of {Describe(callable)} with {Describe(args)} is not a tensor or dict construction");
    }

    /// <summary>BUILD sets object state; the only one torch emits for a state dict is OrderedDict's <c>_metadata</c>, which carries no weights.</summary>
    private void Build(object? state)
    {
        if (Peek() is not PickleDict) throw Fail($"BUILD on {Describe(Peek())} is not supported");
        _ = state;
    }

    private static string Describe(object? value) => value switch
    {
        null => "None",
        string s => $"'{s}'",
        object?[] t => "(" + string.Join(", ", t.Take(6).Select(Describe)) + (t.Length > 6 ? ", …" : "") + ")",
        PickleDict => "a dict",
        List<object?> => "a list",
        TorchTensorRef => "a tensor",
        TorchStorageRef => "a storage",
        Global g => g.ToString(),
        _ => value.ToString() ?? value.GetType().Name,
    };
}
