using SpatialNet.Training.Randomness;

namespace SpatialNet.Training.Batching;

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
