using SpatialNet.Training.Data;

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
