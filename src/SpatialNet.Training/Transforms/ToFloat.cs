using SpatialNet.Training.Data;
using static TorchSharp.torch;

namespace SpatialNet.Training.Transforms;

/// <summary>uint8 images → float32 in [0, 1] (value / 255). Floating-point images are left as they are.</summary>
public sealed class ToFloat : IBatchTransform
{
    /// <summary>Creates the transform for the tensor called <paramref name="key"/>.</summary>
    public ToFloat(string key = SampleKeys.Image) => Key = key;

    /// <summary>The tensor transformed.</summary>
    public string Key { get; }

    /// <inheritdoc/>
    public void Apply(Batch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var x = batch[Key];
        if (x.is_floating_point()) return;
        batch.Set(Key, ToUnitFloat(x));
    }

    internal static Tensor ToUnitFloat(Tensor x)
    {
        using var f = x.to(ScalarType.Float32);
        return f.div_(255.0f).alias();
    }
}
