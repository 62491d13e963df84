using static TorchSharp.torch;

namespace SpatialNet.Weights;

/// <summary>
/// A state dictionary read from a checkpoint: parameter name → tensor (CPU, the file's dtype).
/// Disposing it disposes every tensor it holds.
/// </summary>
public sealed class StateDict : Dictionary<string, Tensor>, IDisposable
{
    /// <summary>Creates an empty state dictionary (ordinal key comparison).</summary>
    public StateDict() : base(StringComparer.Ordinal) { }

    /// <summary>Creates a state dictionary holding the given entries (the tensors are not copied).</summary>
    public StateDict(IEnumerable<KeyValuePair<string, Tensor>> entries) : base(entries, StringComparer.Ordinal) { }

    /// <summary>Disposes every tensor and empties the dictionary.</summary>
    public void Dispose()
    {
        foreach (var tensor in Values) tensor.Dispose();
        Clear();
    }
}
