using SpatialNet.Training.Data;

namespace SpatialNet.Training.Batching;

/// <summary>
/// Batches several datasets through a <see cref="MultiDatasetSampler"/>; each batch comes from one
/// dataset and carries its name in <see cref="Batch.Source"/>, so the loss composer combines only the
/// tasks that batch has.
/// </summary>
public sealed class MultiDatasetLoader
{
    /// <summary>Creates the loader (see <see cref="MultiDatasetSampler"/> for the parameters).</summary>
    public MultiDatasetLoader(IReadOnlyList<IDataset> datasets, IReadOnlyList<double> proportions, int batchSize,
        ulong seed = 0, int? batchesPerEpoch = null, BatchCollator? collator = null)
    {
        ArgumentNullException.ThrowIfNull(datasets);
        Datasets = datasets.ToArray();
        Sampler = new MultiDatasetSampler(Datasets.Select(d => d.Count).ToArray(), proportions, batchSize, seed, batchesPerEpoch);
        Collator = collator ?? new BatchCollator();
    }

    /// <summary>The datasets, in the order of the proportions.</summary>
    public IReadOnlyList<IDataset> Datasets { get; }

    /// <summary>The sampler that plans each epoch.</summary>
    public MultiDatasetSampler Sampler { get; }

    /// <summary>The collator that stacks samples.</summary>
    public BatchCollator Collator { get; }

    /// <summary>The batches of epoch <paramref name="epoch"/>, built lazily; the caller disposes each.</summary>
    public IEnumerable<Batch> Epoch(int epoch)
    {
        foreach (var planned in Sampler.Epoch(epoch))
            yield return DataLoader.Load(Datasets[planned.DatasetIndex], planned.Indices, Collator);
    }
}
