namespace SpatialNet.Training.Batching;

/// <summary>
/// Makes a configured run's training batch source from the batches its data options describe: the
/// place for a cache, a prefetcher or a sampler of a host's own.
/// </summary>
public interface IBatchSourceFactory
{
    /// <summary>The source the trainer draws its batches from.</summary>
    /// <param name="batches">The run's training batches (plan, load, collate, device, transforms).</param>
    /// <param name="prefetch">Batches to prepare ahead on a background thread (<c>data:prefetch</c>); 0: none.</param>
    IBatchSource CreateTraining(DatasetBatchSource batches, int prefetch);
}

/// <summary>The standard factory: the batches as they are, behind a <see cref="Prefetcher"/> when <c>prefetch</c> &gt; 0.</summary>
public sealed class BatchSourceFactory : IBatchSourceFactory
{
    /// <inheritdoc />
    public IBatchSource CreateTraining(DatasetBatchSource batches, int prefetch)
    {
        ArgumentNullException.ThrowIfNull(batches);
        return prefetch > 0 ? new Prefetcher(batches, prefetch) : batches;
    }
}
