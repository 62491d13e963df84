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

    /// <summary>
    /// Per-sample weights w_i for sampling with replacement (PyTorch's <c>WeightedRandomSampler</c>): an epoch draws
    /// <see cref="IDataset.Count"/> samples, sample i with probability w_i / Σw, seeded by (seed, epoch); null (default): every sample once.
    /// </summary>
    /// <exception cref="ArgumentException">Not one finite weight ≥ 0 per sample, or all zero.</exception>
    public IReadOnlyList<double>? SampleWeights
    {
        get => _sampleWeights;
        init
        {
            if (value is not null && (value.Count != Dataset.Count || value.Any(w => !(w >= 0) || double.IsInfinity(w)) || !(value.Sum() > 0)))
                throw new ArgumentException($"SampleWeights needs {Dataset.Count} finite weights >= 0 (one per sample of '{Dataset.Name}'), not all 0; got {value.Count}.", nameof(value));
            _sampleWeights = value?.ToArray();
        }
    }

    private readonly double[]? _sampleWeights;

    private int[] WeightedDraw(IReadOnlyList<double> weights, int epoch)
    {
        var cumulative = new double[weights.Count];
        double total = 0;
        for (int i = 0; i < weights.Count; i++)
            cumulative[i] = total += weights[i];
        var random = SeededRandom.From(Seed, (ulong)epoch, 0x5745_4947); // "WEIG"
        var order = new int[weights.Count];
        for (int k = 0; k < order.Length; k++)
        {
            // The first i with cumulative[i] > u: zero-weight samples are never drawn.
            var u = random.NextDouble() * total;
            int lo = 0, hi = cumulative.Length - 1;
            while (lo < hi)
            {
                int mid = (lo + hi) / 2;
                if (cumulative[mid] > u) hi = mid; else lo = mid + 1;
            }
            order[k] = lo;
        }
        return order;
    }

    /// <summary>The sample indices of each batch of epoch <paramref name="epoch"/>.</summary>
    public IEnumerable<int[]> EpochIndices(int epoch)
    {
        var order = SampleWeights is { } weights ? WeightedDraw(weights, epoch) : Shuffle ? SeededRandom.From(Seed, (ulong)epoch).Permutation(Dataset.Count) : Enumerable.Range(0, Dataset.Count).ToArray();
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
