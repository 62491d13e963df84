
namespace SpatialNet.Training.Transforms;

/// <summary>
/// A transform that draws random numbers. A batch source reseeds it before every batch with a seed
/// derived from (seed, epoch, batch), so a resumed run draws exactly the augmentation an
/// uninterrupted one would, whatever happened before.
/// </summary>
public interface IRandomBatchTransform : IBatchTransform
{
    /// <summary>Restarts the transform's random stream from <paramref name="seed"/>.</summary>
    void Reseed(ulong seed);
}
