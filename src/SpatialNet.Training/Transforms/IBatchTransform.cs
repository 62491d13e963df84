using SpatialNet.Modules;
using SpatialNet.Training.Data;
using SpatialNet.Training.Imaging;
using TorchSharp;
using static TorchSharp.torch;

namespace SpatialNet.Training.Transforms;

/// <summary>
/// A transform of a whole <see cref="Batch"/> on the device its tensors live on (after
/// <see cref="Batch.MoveTo"/>), so augmentation costs no host round trip. It replaces tensors in place.
/// </summary>
public interface IBatchTransform
{
    /// <summary>Transforms the batch in place.</summary>
    void Apply(Batch batch);
}
