using SpatialNet.Training.Data;
using SpatialNet.Training.Randomness;

namespace SpatialNet.Training.Batching;

/// <summary>
/// The epoch plan of one dataset with per-group repeats and length buckets: every sample (times its
/// group's repeat count) once per epoch, in an order drawn from (seed, epoch); with buckets, each run
/// of <c>k</c> batches' worth is sorted by length (stable) before it is cut, and the batches are then
/// shuffled with their own stream.
/// </summary>
internal sealed class SamplePlan
{
    private readonly int[] _pool;
    private readonly ISampleMetadata _metadata;
    private readonly int _batchSize;
    private readonly int _buckets;
    private readonly ulong _seed;

    private SamplePlan(int[] pool, ISampleMetadata metadata, int batchSize, int buckets, ulong seed)
    {
        _pool = pool;
        _metadata = metadata;
        _batchSize = batchSize;
        _buckets = buckets;
        _seed = seed;
        BatchesPerEpoch = (pool.Length + batchSize - 1) / batchSize;
    }

    public int BatchesPerEpoch { get; }

    /// <summary>The plan of <paramref name="loader"/> under <paramref name="preparation"/>'s repeats and buckets, or null when it sets neither.</summary>
    /// <exception cref="ArgumentException">The dataset has no group and length facts, a negative count, or no sample left.</exception>
    public static SamplePlan? Of(DataLoader loader, DatasetBatchPreparation? preparation)
    {
        ArgumentNullException.ThrowIfNull(loader);
        if (preparation is not { ChangesPlan: true })
            return null;
        if (loader.Dataset is not ISampleMetadata metadata)
            throw new ArgumentException($"Repeats and length buckets need a dataset that knows its samples' groups and lengths (RSVQA); '{loader.Dataset.Name}' does not.", nameof(loader));
        if (preparation.LengthBucketBatches < 0)
            throw new ArgumentException($"DatasetBatchPreparation.LengthBucketBatches = {preparation.LengthBucketBatches}: must be >= 0 (0: off).", nameof(preparation));
        var repeats = preparation.Repeats ?? new Dictionary<string, int>();
        foreach (var (group, r) in repeats)
        {
            if (r < 0)
                throw new ArgumentException($"DatasetBatchPreparation.Repeats[{group}] = {r}: must be >= 0.", nameof(preparation));
        }
        var pool = new List<int>(loader.Dataset.Count);
        for (var i = 0; i < loader.Dataset.Count; i++)
        {
            var times = repeats.TryGetValue(metadata.GroupOf(i), out var r) ? r : 1;
            for (var k = 0; k < times; k++)
                pool.Add(i);
        }
        if (pool.Count == 0)
            throw new ArgumentException($"The repeat counts leave no sample of '{loader.Dataset.Name}' to train on.", nameof(preparation));
        return new SamplePlan(pool.ToArray(), metadata, loader.BatchSize, preparation.LengthBucketBatches, loader.Seed);
    }

    /// <summary>The batches of 0-based <paramref name="epoch"/> (a function of seed and epoch only).</summary>
    public IEnumerable<DatasetBatch> Epoch(int epoch)
    {
        var order = new SeededRandom(SeededRandom.DeriveSeed(_seed, 0, (ulong)epoch)).Permutation(_pool.Length);
        var samples = order.Select(i => _pool[i]).ToArray();
        var batches = new int[BatchesPerEpoch][];
        if (_buckets == 0)
        {
            for (var b = 0; b < batches.Length; b++)
                batches[b] = samples.AsSpan(b * _batchSize, Math.Min(_batchSize, samples.Length - b * _batchSize)).ToArray();
            return batches.Select(indices => new DatasetBatch(0, indices));
        }

        var chunk = _batchSize * _buckets;
        var next = 0;
        for (var start = 0; start < samples.Length; start += chunk)
        {
            // Stable sort: equal lengths keep their shuffled order.
            var sorted = samples.AsSpan(start, Math.Min(chunk, samples.Length - start)).ToArray().OrderBy(_metadata.LengthOf).ToArray();
            for (var s = 0; s < sorted.Length; s += _batchSize)
                batches[next++] = sorted.AsSpan(s, Math.Min(_batchSize, sorted.Length - s)).ToArray();
        }
        new SeededRandom(SeededRandom.DeriveSeed(_seed, 2, (ulong)epoch)).Shuffle(batches.AsSpan());
        return batches.Select(indices => new DatasetBatch(0, indices));
    }
}
