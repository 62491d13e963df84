using SpatialNet.Training.Randomness;
using TorchSharp;
using static TorchSharp.torch;

namespace SpatialNet.Training.Batching;

/// <summary>
/// Batches for training, epoch by epoch. Each batch is a dictionary of named tensors (image, label,
/// question, …) so models and transforms pick what they need.
/// </summary>
/// <remarks>
/// <para>Resumable: <see cref="GetBatches"/> must yield the same batches for the same epoch whenever
/// it is called (derive any shuffling from a seed and the epoch, for example with
/// <see cref="SeededRandom.DeriveSeed"/>), and start at any batch index, so that a resumed run
/// continues exactly where the checkpoint was taken.</para>
/// <para>Ownership: the trainer advances the enumerator inside the step's dispose scope, so tensors
/// created for a batch are freed after the step. Tensors a source keeps across batches (its data,
/// caches) must be detached from dispose scopes (<c>DetachFromDisposeScope()</c>).</para>
/// </remarks>
public interface IBatchSource
{
    /// <summary>Number of batches in one epoch.</summary>
    int BatchesPerEpoch { get; }

    /// <summary>The batches of 0-based epoch <paramref name="epoch"/>, starting at batch <paramref name="startBatch"/>.</summary>
    IEnumerable<IReadOnlyDictionary<string, Tensor>> GetBatches(int epoch, int startBatch = 0);
}

/// <summary>
/// Batches drawn from tensors held in memory (every entry shares the first dimension, the sample
/// axis), reshuffled each epoch with a permutation derived from the seed and the epoch.
/// </summary>
public sealed class InMemoryBatchSource : IBatchSource
{
    private readonly Dictionary<string, Tensor> _data;
    private readonly ulong _seed;

    /// <summary>Creates the source. The tensors stay owned by the caller.</summary>
    /// <param name="data">Named tensors [N, …]; all with the same N ≥ 1.</param>
    /// <param name="batchSize">Samples per batch.</param>
    /// <param name="shuffle">Reshuffle every epoch.</param>
    /// <param name="seed">Seed of the shuffling.</param>
    /// <param name="dropLast">Drop a final incomplete batch.</param>
    public InMemoryBatchSource(IReadOnlyDictionary<string, Tensor> data, int batchSize, bool shuffle = true, ulong seed = 0, bool dropLast = false)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.Count == 0)
            throw new ArgumentException("At least one tensor is needed.", nameof(data));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        long n = -1;
        foreach (var (name, t) in data)
        {
            if (t.dim() == 0)
                throw new ArgumentException($"Tensor '{name}' is a scalar; every entry needs a sample axis.", nameof(data));
            if (n >= 0 && t.shape[0] != n)
                throw new ArgumentException($"Tensor '{name}' has {t.shape[0]} samples; the others have {n}.", nameof(data));
            n = t.shape[0];
        }
        if (n < 1 || n > int.MaxValue)
            throw new ArgumentException($"Sample count {n} is not in [1, {int.MaxValue}].", nameof(data));
        SampleCount = (int)n;
        BatchSize = batchSize;
        Shuffle = shuffle;
        DropLast = dropLast;
        _seed = seed;
        _data = new Dictionary<string, Tensor>(data, StringComparer.Ordinal);
        BatchesPerEpoch = dropLast ? SampleCount / batchSize : (SampleCount + batchSize - 1) / batchSize;
        if (BatchesPerEpoch == 0)
            throw new ArgumentException($"{SampleCount} samples make no complete batch of {batchSize} with dropLast.", nameof(batchSize));
    }

    /// <summary>Number of samples N.</summary>
    public int SampleCount { get; }

    /// <summary>Samples per batch.</summary>
    public int BatchSize { get; }

    /// <summary>Whether each epoch is shuffled.</summary>
    public bool Shuffle { get; }

    /// <summary>Whether an incomplete final batch is dropped.</summary>
    public bool DropLast { get; }

    /// <inheritdoc />
    public int BatchesPerEpoch { get; }

    /// <inheritdoc />
    public IEnumerable<IReadOnlyDictionary<string, Tensor>> GetBatches(int epoch, int startBatch = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        ArgumentOutOfRangeException.ThrowIfNegative(startBatch);
        return Iterate(epoch, startBatch);
    }

    private IEnumerable<IReadOnlyDictionary<string, Tensor>> Iterate(int epoch, int startBatch)
    {
        int[] order = Shuffle
            ? new SeededRandom(SeededRandom.DeriveSeed(_seed, (ulong)epoch)).Permutation(SampleCount)
            : Enumerable.Range(0, SampleCount).ToArray();
        for (int b = startBatch; b < BatchesPerEpoch; b++)
        {
            int start = b * BatchSize;
            int count = Math.Min(BatchSize, SampleCount - start);
            var batch = new Dictionary<string, Tensor>(_data.Count, StringComparer.Ordinal);
            // Created while the trainer's step scope is current, so the batch is freed after the step.
            var index = torch.tensor(order.AsSpan(start, count).ToArray().Select(i => (long)i).ToArray());
            foreach (var (name, t) in _data)
            {
                using var idx = index.device == t.device ? index.alias() : index.to(t.device);
                batch[name] = t.index_select(0, idx);
            }
            index.Dispose();
            yield return batch;
        }
    }
}
