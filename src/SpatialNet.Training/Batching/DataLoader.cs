using SpatialNet.Training.Data;
using SpatialNet.Training.Randomness;

namespace SpatialNet.Training.Batching;

/// <summary>
/// Batches one dataset: each epoch visits every sample once in an order that depends only on
/// (seed, epoch) — so a resumed run sees exactly the batches an uninterrupted one would.
/// The caller disposes each <see cref="Batch"/>.
/// </summary>
public sealed class DataLoader
{
    /// <summary>Creates a loader.</summary>
    /// <exception cref="ArgumentException">The dataset is empty or <paramref name="batchSize"/> is not positive.</exception>
    public DataLoader(IDataset dataset, int batchSize, bool shuffle = true, ulong seed = 0, bool dropLast = false, BatchCollator? collator = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), $"batchSize must be positive; got {batchSize}.");
        if (dataset.Count == 0) throw new ArgumentException($"Dataset '{dataset.Name}' has no samples.", nameof(dataset));
        Dataset = dataset;
        BatchSize = batchSize;
        Shuffle = shuffle;
        Seed = seed;
        DropLast = dropLast;
        Collator = collator ?? new BatchCollator();
    }

    /// <summary>The dataset batched.</summary>
    public IDataset Dataset { get; }

    /// <summary>Samples per batch (the last batch may be smaller unless <see cref="DropLast"/>).</summary>
    public int BatchSize { get; }

    /// <summary>Whether each epoch uses a seeded random order (else dataset order).</summary>
    public bool Shuffle { get; }

    /// <summary>Seed of the epoch orders.</summary>
    public ulong Seed { get; }

    /// <summary>Whether an incomplete last batch is skipped.</summary>
    public bool DropLast { get; }

    /// <summary>The collator that stacks samples.</summary>
    public BatchCollator Collator { get; }

    /// <summary>Batches in one epoch.</summary>
    public int BatchesPerEpoch => DropLast ? Dataset.Count / BatchSize : (Dataset.Count + BatchSize - 1) / BatchSize;

    /// <summary>The sample indices of each batch of epoch <paramref name="epoch"/>.</summary>
    public IEnumerable<int[]> EpochIndices(int epoch)
    {
        var order = Shuffle ? SeededRandom.From(Seed, (ulong)epoch).Permutation(Dataset.Count) : Enumerable.Range(0, Dataset.Count).ToArray();
        for (var b = 0; b < BatchesPerEpoch; b++)
            yield return order.AsSpan(b * BatchSize, Math.Min(BatchSize, order.Length - b * BatchSize)).ToArray();
    }

    /// <summary>The batches of epoch <paramref name="epoch"/>, built lazily.</summary>
    public IEnumerable<Batch> Epoch(int epoch)
    {
        foreach (var indices in EpochIndices(epoch)) yield return Load(Dataset, indices, Collator);
    }

    internal static Batch Load(IDataset dataset, int[] indices, BatchCollator collator)
    {
        var samples = new List<Sample>(indices.Length);
        try
        {
            foreach (var i in indices) samples.Add(dataset.GetSample(i));
            return collator.Collate(samples, dataset.Name);
        }
        finally
        {
            foreach (var s in samples) s.Dispose();
        }
    }
}

/// <summary>One planned batch of a <see cref="MultiDatasetSampler"/>: which dataset and which of its samples.</summary>
/// <param name="DatasetIndex">Index of the dataset in the sampler's list.</param>
/// <param name="Indices">Sample indices within that dataset.</param>
public sealed record DatasetBatch(int DatasetIndex, int[] Indices);

/// <summary>
/// Interleaves batches from several datasets with set proportions. An epoch has
/// <see cref="BatchesPerEpoch"/> batches; dataset k gets exactly <see cref="BatchesPerDataset"/>[k] of
/// them (its proportion of the total, rounded by largest remainder), in a seeded random order. Every
/// batch is full: within a dataset, samples are drawn from seeded permutations, a new one begun when
/// one is used up. An epoch depends only on (seed, epoch).
/// </summary>
public sealed class MultiDatasetSampler
{
    private readonly int[] _sizes;
    private readonly int[] _batchesPerDataset;

    /// <summary>Creates the sampler.</summary>
    /// <param name="datasetSizes">Samples in each dataset.</param>
    /// <param name="proportions">Relative share of batches per dataset (normalised; need not sum to 1).</param>
    /// <param name="batchSize">Samples per batch.</param>
    /// <param name="seed">Seed of every random choice.</param>
    /// <param name="batchesPerEpoch">Batches per epoch; default Σ⌈size/batchSize⌉.</param>
    /// <exception cref="ArgumentException">Counts differ, a size is not positive, a proportion is negative, or all are zero.</exception>
    public MultiDatasetSampler(IReadOnlyList<int> datasetSizes, IReadOnlyList<double> proportions, int batchSize, ulong seed = 0, int? batchesPerEpoch = null)
    {
        ArgumentNullException.ThrowIfNull(datasetSizes);
        ArgumentNullException.ThrowIfNull(proportions);
        if (datasetSizes.Count == 0 || datasetSizes.Count != proportions.Count)
            throw new ArgumentException($"Need one proportion per dataset; got {datasetSizes.Count} datasets and {proportions.Count} proportions.", nameof(proportions));
        if (datasetSizes.Any(s => s <= 0))
            throw new ArgumentException($"Every dataset needs samples; sizes [{string.Join(", ", datasetSizes)}].", nameof(datasetSizes));
        if (proportions.Any(p => p < 0 || double.IsNaN(p)) || proportions.Sum() <= 0)
            throw new ArgumentException($"Proportions must be non-negative with a positive sum; got [{string.Join(", ", proportions)}].", nameof(proportions));
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), $"batchSize must be positive; got {batchSize}.");
        _sizes = datasetSizes.ToArray();
        BatchSize = batchSize;
        Seed = seed;
        BatchesPerEpoch = batchesPerEpoch ?? _sizes.Sum(s => (s + batchSize - 1) / batchSize);
        if (BatchesPerEpoch <= 0) throw new ArgumentOutOfRangeException(nameof(batchesPerEpoch), $"batchesPerEpoch must be positive; got {BatchesPerEpoch}.");
        _batchesPerDataset = LargestRemainder(proportions, BatchesPerEpoch);
    }

    /// <summary>Samples per batch.</summary>
    public int BatchSize { get; }

    /// <summary>Seed of every random choice.</summary>
    public ulong Seed { get; }

    /// <summary>Batches per epoch.</summary>
    public int BatchesPerEpoch { get; }

    /// <summary>Exact number of batches each dataset contributes per epoch.</summary>
    public IReadOnlyList<int> BatchesPerDataset => _batchesPerDataset;

    /// <summary>The planned batches of epoch <paramref name="epoch"/>.</summary>
    public IEnumerable<DatasetBatch> Epoch(int epoch)
    {
        var order = new int[BatchesPerEpoch];
        var at = 0;
        for (var k = 0; k < _batchesPerDataset.Length; k++)
            for (var j = 0; j < _batchesPerDataset[k]; j++) order[at++] = k;
        SeededRandom.From(Seed, (ulong)epoch, ulong.MaxValue).Shuffle(order.AsSpan());

        var streams = _sizes.Select((size, k) => new PermutationStream(size, SeededRandom.From(Seed, (ulong)epoch, (ulong)k))).ToArray();
        foreach (var k in order)
        {
            var indices = new int[BatchSize];
            for (var i = 0; i < BatchSize; i++) indices[i] = streams[k].Next();
            yield return new DatasetBatch(k, indices);
        }
    }

    private static int[] LargestRemainder(IReadOnlyList<double> proportions, int total)
    {
        var sum = proportions.Sum();
        var exact = proportions.Select(p => p / sum * total).ToArray();
        var counts = exact.Select(e => (int)Math.Floor(e)).ToArray();
        var left = total - counts.Sum();
        foreach (var k in Enumerable.Range(0, exact.Length).OrderByDescending(k => exact[k] - counts[k]).ThenBy(k => k).Take(left))
            counts[k]++;
        return counts;
    }

    private sealed class PermutationStream(int size, SeededRandom random)
    {
        private int[] _order = random.Permutation(size);
        private int _next;

        public int Next()
        {
            if (_next == _order.Length)
            {
                _order = random.Permutation(size);
                _next = 0;
            }
            return _order[_next++];
        }
    }
}

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
