using TorchSharp;
using static TorchSharp.torch;

namespace SpatialNet.Modules;

/// <summary>
/// Constant values (loss options such as class weights, normalisation statistics) as a 1-D tensor on
/// the device and in the dtype a call needs, made once per (device, dtype) rather than on every call:
/// an upload per training step would make the host wait for the GPU's queued work. Not module state:
/// it stays out of the state dict. Thread-safe; <see cref="Dispose"/> frees every copy.
/// </summary>
internal sealed class DeviceConstant : IDisposable
{
    private readonly float[] _values;
    private readonly Dictionary<(DeviceType Type, int Index, ScalarType DType), Tensor> _tensors = [];

    /// <summary>Holds <paramref name="values"/> (kept as float32 on the host and cast to the requested dtype).</summary>
    public DeviceConstant(IEnumerable<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        _values = values.Select(v => (float)v).ToArray();
    }

    /// <summary>Number of values.</summary>
    public int Count => _values.Length;

    /// <summary>The values as a 1-D tensor like <paramref name="like"/> (device and dtype); owned by this object.</summary>
    public Tensor Like(Tensor like)
    {
        ArgumentNullException.ThrowIfNull(like);
        var key = (like.device_type, like.device_index, like.dtype);
        lock (_tensors)
        {
            if (!_tensors.TryGetValue(key, out var t))
            {
                using var scope = NewDisposeScope();
                t = tensor(_values, dtype: like.dtype).to(like.device).DetachFromDisposeScope();
                _tensors[key] = t;
            }
            return t;
        }
    }

    /// <summary>Frees the copies made so far; later calls of <see cref="Like"/> make them again.</summary>
    public void Dispose()
    {
        lock (_tensors)
        {
            foreach (var t in _tensors.Values)
                t.Dispose();
            _tensors.Clear();
        }
    }
}
