using System.Runtime.InteropServices;

namespace SpatialNet.Training.Inference.Onnx;

/// <summary>
/// An ONNX graph being built, and its serialisation as a <c>ModelProto</c> with the field numbers of
/// onnx/onnx.proto (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto).
/// </summary>
internal sealed class OnnxGraph
{
    /// <summary>The operator set the graph is written for (LayerNormalization needs 17).</summary>
    public const int Opset = 17;

    /// <summary>IR version 8: the version of ONNX 1.13, which introduced opset 18; 17 is within it.</summary>
    public const int IrVersion = 8;

    private const int FloatType = 1;
    private const int Int64Type = 7;

    private readonly List<Action<ProtoWriter>> _nodes = [];
    private readonly List<Action<ProtoWriter>> _initializers = [];
    private readonly List<Action<ProtoWriter>> _inputs = [];
    private readonly List<Action<ProtoWriter>> _outputs = [];
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private int _counter;

    /// <summary>A fresh value name with <paramref name="hint"/> in it.</summary>
    public string Name(string hint) => $"{hint}_{_counter++}";

    /// <summary>Adds a float initializer (row-major data of <paramref name="dims"/>) and returns its name.</summary>
    public string Initializer(string name, float[] data, params long[] dims)
    {
        if (!_names.Add(name))
            return name;
        var bytes = MemoryMarshal.AsBytes(data.AsSpan()).ToArray();
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("ONNX raw tensor data is little-endian; big-endian hosts are not supported.");
        _initializers.Add(w => Tensor(w, name, FloatType, dims, bytes));
        return name;
    }

    /// <summary>Adds an int64 initializer and returns its name.</summary>
    public string Int64s(string name, long[] data, params long[] dims)
    {
        if (!_names.Add(name))
            return name;
        var bytes = MemoryMarshal.AsBytes(data.AsSpan()).ToArray();
        _initializers.Add(w => Tensor(w, name, Int64Type, dims, bytes));
        return name;
    }

    /// <summary>A 1-D int64 constant (shapes, axes, indices).</summary>
    public string Shape(params long[] values) => Int64s($"const_{string.Join('_', values).Replace('-', 'm')}", values, values.Length);

    /// <summary>A scalar int64 constant (a Gather index that drops the axis).</summary>
    public string ScalarIndex(long value) => Int64s($"index_{value}", [value]);

    /// <summary>A float scalar constant.</summary>
    public string Scalar(float value, string hint) => Initializer(Name(hint), [value]);

    /// <summary>Adds a node and returns its (single) output's name.</summary>
    public string Node(string op, string[] inputs, IReadOnlyList<Attribute>? attributes = null, string? output = null)
    {
        output ??= Name(op.ToLowerInvariant());
        var name = Name("n_" + op);
        _nodes.Add(w =>
        {
            foreach (var input in inputs) w.String(1, input);
            w.String(2, output);
            w.String(3, name);
            w.String(4, op);
            foreach (var a in attributes ?? []) w.Message(5, a.Write);
        });
        return output;
    }

    /// <summary>Declares a float graph input; a null dimension is symbolic (named <paramref name="symbol"/>).</summary>
    public void Input(string name, long?[] dims, string symbol) => _inputs.Add(w => ValueInfo(w, name, dims, symbol));

    /// <summary>Declares a float graph output.</summary>
    public void Output(string name, long?[] dims, string symbol) => _outputs.Add(w => ValueInfo(w, name, dims, symbol));

    /// <summary>The model: IR version, opset, producer, graph and metadata.</summary>
    public byte[] ToModel(string graphName, string producerVersion, IReadOnlyList<KeyValuePair<string, string>> metadata, string docString)
    {
        var model = new ProtoWriter();
        model.Int64(1, IrVersion);
        model.String(2, "SpatialNet");
        model.String(3, producerVersion);
        model.String(6, docString);
        model.Message(7, g =>
        {
            foreach (var n in _nodes) g.Message(1, n);
            g.String(2, graphName);
            foreach (var t in _initializers) g.Message(5, t);
            foreach (var i in _inputs) g.Message(11, i);
            foreach (var o in _outputs) g.Message(12, o);
        });
        model.Message(8, o =>
        {
            o.String(1, string.Empty);
            o.Int64(2, Opset);
        });
        foreach (var (key, value) in metadata)
        {
            model.Message(14, e =>
            {
                e.String(1, key);
                e.String(2, value);
            });
        }
        return model.ToArray();
    }

    private static void Tensor(ProtoWriter w, string name, int type, long[] dims, byte[] raw)
    {
        foreach (var d in dims) w.Int64(1, d);
        w.Int64(2, type);
        w.String(8, name);
        w.Bytes(9, raw);
    }

    private static void ValueInfo(ProtoWriter w, string name, long?[] dims, string symbol)
    {
        w.String(1, name);
        w.Message(2, type => type.Message(1, tensor =>
        {
            tensor.Int64(1, FloatType);
            tensor.Message(2, shape =>
            {
                foreach (var d in dims)
                {
                    shape.Message(1, dim =>
                    {
                        if (d is long value) dim.Int64(1, value);
                        else dim.String(2, symbol);
                    });
                }
            });
        }));
    }

    /// <summary>A node attribute (AttributeProto): an int, a float, a string or a list of ints.</summary>
    internal readonly record struct Attribute(string Name, long? Int = null, float? Float = null, long[]? Ints = null, string? Text = null)
    {
        public void Write(ProtoWriter w)
        {
            w.String(1, Name);
            if (Text is string s)
            {
                w.String(4, s);
                w.Int64(20, 3);
            }
            else if (Float is float f)
            {
                w.Float(2, f);
                w.Int64(20, 1);
            }
            else if (Int is long i)
            {
                w.Int64(3, i);
                w.Int64(20, 2);
            }
            else
            {
                foreach (var v in Ints ?? []) w.Int64(8, v);
                w.Int64(20, 7);
            }
        }
    }
}
