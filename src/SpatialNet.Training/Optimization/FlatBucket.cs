using static TorchSharp.torch;

namespace SpatialNet.Training.Optimization;

/// <summary>Where one parameter lives inside a <see cref="FlatBucket"/>.</summary>
/// <param name="Name">State-dict name of the parameter.</param>
/// <param name="Offset">First element of the parameter in the bucket's flat buffers.</param>
/// <param name="Shape">Parameter shape.</param>
/// <param name="NumElements">Number of elements.</param>
internal sealed record FlatParameterEntry(string Name, long Offset, long[] Shape, long NumElements);

/// <summary>
/// One contiguous slab of parameters that share a parameter group, a device and a dtype. Every
/// parameter of the bucket is a view into <see cref="Weights"/> and its gradient a view into
/// <see cref="Gradients"/>, so one kernel zeroes, scales or updates all of them.
/// </summary>
internal sealed class FlatBucket : IDisposable
{
    internal FlatBucket(int index, int groupIndex, ParameterGroupSpec group, Device device, IReadOnlyList<FlatParameterEntry> entries,
        Tensor weights, Tensor gradients, Tensor masterWeights, Tensor masterGradients)
    {
        Index = index;
        GroupIndex = groupIndex;
        Group = group;
        Device = device;
        Entries = entries;
        NumElements = weights.numel();
        Weights = weights;
        Gradients = gradients;
        MasterWeights = masterWeights;
        MasterGradients = masterGradients;
    }

    /// <summary>Position of the bucket in <see cref="FlatParameterBuffers.Buckets"/>.</summary>
    public int Index { get; }

    /// <summary>Position of the bucket's group in <see cref="FlatParameterBuffers.Groups"/>.</summary>
    public int GroupIndex { get; }

    /// <summary>The parameter group the bucket belongs to.</summary>
    public ParameterGroupSpec Group { get; }

    /// <summary>Device of all buffers of the bucket.</summary>
    public Device Device { get; }

    /// <summary>The parameters in buffer order.</summary>
    public IReadOnlyList<FlatParameterEntry> Entries { get; }

    /// <summary>Total number of elements.</summary>
    public long NumElements { get; }

    /// <summary>The model's weights (compute dtype); the module's parameters are views into it.</summary>
    public Tensor Weights { get; }

    /// <summary>The model's gradients (compute dtype); each parameter's <c>grad</c> is a view into it.</summary>
    public Tensor Gradients { get; }

    /// <summary>Master weights the optimizer updates: float32 under mixed precision, else the same tensor as <see cref="Weights"/>.</summary>
    public Tensor MasterWeights { get; }

    /// <summary>Master gradients: float32 under mixed precision, else the same tensor as <see cref="Gradients"/>.</summary>
    public Tensor MasterGradients { get; }

    /// <summary>True when master weights are a separate (float32) copy of the model's weights.</summary>
    public bool HasSeparateMaster => !ReferenceEquals(MasterWeights, Weights);

    /// <summary>Frees the buffers (the module's parameters keep their storage alive while they exist).</summary>
    public void Dispose()
    {
        if (HasSeparateMaster)
        {
            MasterWeights.Dispose();
            MasterGradients.Dispose();
        }
        Weights.Dispose();
        Gradients.Dispose();
    }
}
