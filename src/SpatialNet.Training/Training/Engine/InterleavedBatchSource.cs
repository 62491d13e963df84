using SpatialNet.Training.Randomness;
using static TorchSharp.torch;

namespace SpatialNet.Training.Engine;

/// <summary>How <see cref="InterleavedBatchSource"/> orders batches of its sources within an epoch.</summary>
public enum InterleaveMode
{
    /// <summary>One batch from each source in turn; sources that run out drop out of the rotation.</summary>
    RoundRobin,

    /// <summary>
    /// A seeded random order of all batches of the epoch: each source's batches spread over the epoch
    /// in proportion to its size.
    /// </summary>
    Shuffled,
}

/// <summary>
/// One epoch = every batch of every source (each source runs its own epoch with the same epoch
/// index), interleaved so tasks from several datasets train in one run. Each batch comes from one
/// source, so its keys say which tasks it serves. Resumable at any batch: the order is a function
/// of the seed and the epoch, and each source is started at the number of its batches already used.
/// </summary>
public sealed class InterleavedBatchSource : IBatchSource
{
    private readonly IReadOnlyList<IBatchSource> _sources;
    private readonly ulong _seed;

    /// <summary>Interleaves <paramref name="sources"/>.</summary>
    /// <param name="sources">Two or more sources (one is allowed and passed through).</param>
    /// <param name="mode">Ordering rule.</param>
    /// <param name="seed">Seed of the <see cref="InterleaveMode.Shuffled"/> order.</param>
    public InterleavedBatchSource(IReadOnlyList<IBatchSource> sources, InterleaveMode mode = InterleaveMode.RoundRobin, ulong seed = 0)
    {
        ArgumentNullException.ThrowIfNull(sources);
        if (sources.Count == 0)
            throw new ArgumentException("At least one batch source is needed.", nameof(sources));
        for (int i = 0; i < sources.Count; i++)
        {
            if (sources[i] is null)
                throw new ArgumentException($"Batch source {i} is null.", nameof(sources));
            if (sources[i].BatchesPerEpoch < 0)
                throw new ArgumentException($"Batch source {i} reports {sources[i].BatchesPerEpoch} batches per epoch.", nameof(sources));
        }
        if (!Enum.IsDefined(mode))
            throw new ArgumentOutOfRangeException(nameof(mode), mode, "Allowed: RoundRobin, Shuffled.");
        _sources = [.. sources];
        Mode = mode;
        _seed = seed;
        BatchesPerEpoch = checked(_sources.Sum(s => s.BatchesPerEpoch));
    }

    /// <summary>Ordering rule.</summary>
    public InterleaveMode Mode { get; }

    /// <inheritdoc />
    public int BatchesPerEpoch { get; }

    /// <summary>For each position of epoch <paramref name="epoch"/>, the index of the source that provides the batch.</summary>
    public int[] Schedule(int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        var order = new List<int>(BatchesPerEpoch);
        var remaining = _sources.Select(s => s.BatchesPerEpoch).ToArray();
        if (Mode == InterleaveMode.RoundRobin)
        {
            while (order.Count < BatchesPerEpoch)
            {
                for (int i = 0; i < remaining.Length; i++)
                {
                    if (remaining[i] > 0)
                    {
                        order.Add(i);
                        remaining[i]--;
                    }
                }
            }
            return [.. order];
        }
        for (int i = 0; i < remaining.Length; i++)
            order.AddRange(Enumerable.Repeat(i, remaining[i]));
        var array = order.ToArray();
        new SeededRandom(SeededRandom.DeriveSeed(_seed, (ulong)epoch)).Shuffle<int>(array);
        return array;
    }

    /// <inheritdoc />
    public IEnumerable<IReadOnlyDictionary<string, Tensor>> GetBatches(int epoch, int startBatch = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        ArgumentOutOfRangeException.ThrowIfNegative(startBatch);
        return Iterate(epoch, startBatch);
    }

    private IEnumerable<IReadOnlyDictionary<string, Tensor>> Iterate(int epoch, int startBatch)
    {
        var schedule = Schedule(epoch);
        var used = new int[_sources.Count];
        for (int b = 0; b < Math.Min(startBatch, schedule.Length); b++)
            used[schedule[b]]++;
        var enumerators = new IEnumerator<IReadOnlyDictionary<string, Tensor>>?[_sources.Count];
        try
        {
            for (int b = startBatch; b < schedule.Length; b++)
            {
                int s = schedule[b];
                // Opened lazily, inside the step that needs its first batch.
                enumerators[s] ??= _sources[s].GetBatches(epoch, used[s]).GetEnumerator();
                if (!enumerators[s]!.MoveNext())
                    throw new InvalidOperationException(
                        $"Batch source {s} yielded fewer batches in epoch {epoch} than its BatchesPerEpoch ({_sources[s].BatchesPerEpoch}).");
                yield return enumerators[s]!.Current;
            }
        }
        finally
        {
            foreach (var e in enumerators)
                e?.Dispose();
        }
    }
}
