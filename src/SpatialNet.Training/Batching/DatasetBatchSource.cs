using SpatialNet.Training.Data;
using SpatialNet.Training.Randomness;
using SpatialNet.Training.Transforms;
using static TorchSharp.torch;

namespace SpatialNet.Training.Batching;

/// <summary>How the batches of one dataset are made ready for a multi-task model.</summary>
public sealed record DatasetBatchPreparation
{
    /// <summary>
    /// Task name → the sample entries holding its targets. One entry is used as it is (a class index,
    /// a count); several are stacked along a new dimension 1 as float32 <c>[B, K]</c> (multi-label
    /// presence of K kinds, K regression outputs). The targets are stored under the task name, which
    /// is how <see cref="SpatialNet.Training.Engine.MultiTaskTrainable"/> knows the batch serves that task.
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Targets { get; init; } = new Dictionary<string, IReadOnlyList<string>>();

    /// <summary>
    /// Transforms run on the batch after it reached the device (normalisation, augmentation); a
    /// <see cref="IRandomBatchTransform"/> is reseeded before every batch. <c>null</c> for none.
    /// </summary>
    public IBatchTransform? Transform { get; init; }

    /// <summary>
    /// Each distinct image once per batch (samples need a <see cref="SampleKeys.ImageId"/> entry): the
    /// batch holds <c>image</c> [U, C, H, W] and <see cref="SampleKeys.ImageIndex"/> [B], so the encoder
    /// runs once per image (RSVQA asks about 100 questions per image). An image whose questions differ
    /// in <see cref="SampleKeys.AllowGeometric"/> appears once per flag, and that entry becomes [U].
    /// </summary>
    public bool DeduplicateImages { get; init; }

    /// <summary>
    /// Probability that an image row is replaced by zeros after <see cref="Transform"/> — the mean
    /// colour once normalised — so its samples must be answered from their other inputs (modality
    /// dropout). Drawn per (augmentation seed, epoch, batch). 0 (default): off; use for training only.
    /// </summary>
    public double ImageDropProbability { get; init; }

    /// <summary>
    /// Group → how many times each sample of that group enters an epoch (default once); the group is
    /// the dataset's (RSVQA: the question type, e.g. <c>rural_urban</c>). Single-dataset sources only.
    /// </summary>
    public IReadOnlyDictionary<string, int>? Repeats { get; init; }

    /// <summary>
    /// Batches of similar length: each run of this many batches' worth of shuffled samples is sorted by
    /// length (question tokens) before it is cut into batches, and the batches are then shuffled, so
    /// padding shrinks. 0 (default): off. Single-dataset sources only.
    /// </summary>
    public int LengthBucketBatches { get; init; }

    internal bool ChangesPlan => Repeats is { Count: > 0 } || LengthBucketBatches > 0;
}

/// <summary>
/// Turns one or more <see cref="IDataset"/>s into the trainer's <see cref="IBatchSource"/>: the
/// epoch plan of a <see cref="DataLoader"/> (one dataset, every sample once) or of a
/// <see cref="MultiDatasetLoader"/> (several datasets interleaved in set proportions, each batch from
/// one dataset), samples collated on the host, each dataset's targets placed under their task
/// names, the batch moved to the device and transformed there.
/// </summary>
/// <remarks>
/// <para>
/// Deterministic and resumable: the plan depends only on (loader seed, epoch) and random transforms
/// are reseeded per batch from (augmentation seed, epoch, batch index), so
/// <see cref="GetBatches"/> from any start batch yields exactly the batches of an uninterrupted epoch.
/// </para>
/// <para>
/// The three stages are public so that a caching or prefetching source can reuse them: <see cref="Plan"/>
/// (indices only, cheap), <see cref="Load"/> (host work: decode, collate, targets; the result does not
/// depend on the epoch, so it can be cached, e.g. on the device) and <see cref="Prepare"/> (device move
/// and transforms; per epoch and batch).
/// </para>
/// </remarks>
public sealed class DatasetBatchSource : IBatchSource
{
    private readonly IReadOnlyList<IDataset> _datasets;
    private readonly IReadOnlyList<DatasetBatchPreparation> _preparations;
    private readonly Func<int, IEnumerable<DatasetBatch>> _plan;
    private readonly BatchCollator _collator;

    /// <summary>Batches of one dataset, in the loader's order.</summary>
    /// <param name="loader">The dataset, batch size, shuffling and seed.</param>
    /// <param name="preparation">Targets and transforms; default none.</param>
    /// <param name="device">Device the batches are moved to before the transforms; default CPU.</param>
    /// <param name="augmentationSeed">Seed of the random transforms.</param>
    /// <exception cref="ArgumentException">Repeats or length buckets on a dataset without group and length facts, or invalid values.</exception>
    public DatasetBatchSource(DataLoader loader, DatasetBatchPreparation? preparation = null, Device? device = null, ulong augmentationSeed = 0)
        : this(loader, preparation ?? new DatasetBatchPreparation(), device, augmentationSeed, SamplePlan.Of(loader, preparation))
    {
    }

    private DatasetBatchSource(DataLoader loader, DatasetBatchPreparation preparation, Device? device, ulong augmentationSeed, SamplePlan? plan)
        : this([loader.Dataset], [preparation],
            plan is not null ? plan.Epoch : epoch => loader.EpochIndices(epoch).Select(indices => new DatasetBatch(0, indices)),
            plan?.BatchesPerEpoch ?? loader.BatchesPerEpoch, loader.Collator, device, augmentationSeed)
    {
    }

    /// <summary>Batches of several datasets, interleaved by the loader's <see cref="MultiDatasetSampler"/>.</summary>
    /// <param name="loader">The datasets, proportions, batch size and seed.</param>
    /// <param name="preparations">Targets and transforms per dataset (same order); default none.</param>
    /// <param name="device">Device the batches are moved to before the transforms; default CPU.</param>
    /// <param name="augmentationSeed">Seed of the random transforms.</param>
    public DatasetBatchSource(MultiDatasetLoader loader, IReadOnlyList<DatasetBatchPreparation>? preparations = null, Device? device = null,
        ulong augmentationSeed = 0)
        : this((loader ?? throw new ArgumentNullException(nameof(loader))).Datasets,
            preparations ?? loader.Datasets.Select(_ => new DatasetBatchPreparation()).ToArray(),
            loader.Sampler.Epoch, loader.Sampler.BatchesPerEpoch, loader.Collator, device, augmentationSeed)
    {
    }

    private DatasetBatchSource(IReadOnlyList<IDataset> datasets, IReadOnlyList<DatasetBatchPreparation> preparations,
        Func<int, IEnumerable<DatasetBatch>> plan, int batchesPerEpoch, BatchCollator collator, Device? device, ulong augmentationSeed)
    {
        if (preparations.Count != datasets.Count)
            throw new ArgumentException($"Need one preparation per dataset; got {preparations.Count} for {datasets.Count} datasets.", nameof(preparations));
        if (datasets.Count > 1 && preparations.Any(p => p.ChangesPlan))
            throw new ArgumentException("Repeats and length buckets need a single-dataset source.", nameof(preparations));
        foreach (var p in preparations)
        {
            if (!(p.ImageDropProbability is >= 0 and <= 1))
                throw new ArgumentOutOfRangeException(nameof(preparations), p.ImageDropProbability, "DatasetBatchPreparation.ImageDropProbability must be in [0, 1].");
        }
        _datasets = datasets;
        _preparations = preparations;
        _plan = plan;
        _collator = collator;
        BatchesPerEpoch = batchesPerEpoch;
        Device = device ?? CPU;
        AugmentationSeed = augmentationSeed;
        for (var k = 0; k < datasets.Count; k++)
            CheckTargets(k);
    }

    /// <summary>The datasets, in plan order (<see cref="DatasetBatch.DatasetIndex"/>).</summary>
    public IReadOnlyList<IDataset> Datasets => _datasets;

    /// <summary>Preparation of each dataset.</summary>
    public IReadOnlyList<DatasetBatchPreparation> Preparations => _preparations;

    /// <summary>Device batches are moved to.</summary>
    public Device Device { get; }

    /// <summary>Seed of the random transforms.</summary>
    public ulong AugmentationSeed { get; }

    /// <inheritdoc />
    public int BatchesPerEpoch { get; }

    /// <summary>The task names the batches of dataset <paramref name="datasetIndex"/> carry targets for.</summary>
    public IReadOnlyCollection<string> TasksOf(int datasetIndex) => _preparations[datasetIndex].Targets.Keys.ToArray();

    /// <summary>The planned batches of 0-based <paramref name="epoch"/> from <paramref name="startBatch"/> on (indices only).</summary>
    public IEnumerable<DatasetBatch> Plan(int epoch, int startBatch = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        ArgumentOutOfRangeException.ThrowIfNegative(startBatch);
        return _plan(epoch).Skip(startBatch);
    }

    /// <summary>
    /// Host stage: reads the planned samples, collates them and adds each task's targets under its
    /// name. The batch does not depend on the epoch. New tensors join the current dispose scope.
    /// </summary>
    public Batch Load(DatasetBatch planned)
    {
        ArgumentNullException.ThrowIfNull(planned);
        var dataset = _datasets[planned.DatasetIndex];
        var batch = DataLoader.Load(dataset, planned.Indices, _collator);
        try
        {
            if (_preparations[planned.DatasetIndex].DeduplicateImages)
                Deduplicate(batch, dataset.Name);
            foreach (var (task, keys) in _preparations[planned.DatasetIndex].Targets)
            {
                batch.Set(task, keys.Count == 1
                    ? batch[keys[0]].alias()
                    : stack(keys.Select(k => batch[k].to(ScalarType.Float32)).ToArray(), 1));
            }
            return batch;
        }
        catch
        {
            batch.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Device stage: moves <paramref name="batch"/> to <see cref="Device"/> and runs its dataset's
    /// transforms, reseeded from (<see cref="AugmentationSeed"/>, <paramref name="epoch"/>, <paramref name="batchIndex"/>).
    /// </summary>
    public Batch Prepare(Batch batch, DatasetBatch planned, int epoch, int batchIndex)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(planned);
        foreach (var key in batch.Keys.ToArray())
        {
            var t = batch[key];
            if (!SpatialNet.Training.Devices.DeviceTransfer.IsOn(t, Device))
                batch.Set(key, SpatialNet.Training.Devices.DeviceTransfer.To(t, Device));
        }
        var preparation = _preparations[planned.DatasetIndex];
        if (preparation.Transform is { } transform)
        {
            if (transform is IRandomBatchTransform random)
                random.Reseed(SeededRandom.DeriveSeed(AugmentationSeed, (ulong)epoch, (ulong)batchIndex));
            transform.Apply(batch);
        }
        if (preparation.ImageDropProbability > 0)
            DropImages(batch, preparation.ImageDropProbability, SeededRandom.DeriveSeed(AugmentationSeed, 3, (ulong)epoch, (ulong)batchIndex));
        return batch;
    }

    // Keeps each (image id, geometric permission) once: image [U, …], image_index [B], allow_geometric [U].
    private static void Deduplicate(Batch batch, string dataset)
    {
        if (!batch.TryGetValue(SampleKeys.ImageId, out var ids))
            throw new ArgumentException($"DeduplicateImages: samples of dataset '{dataset}' have no '{SampleKeys.ImageId}' entry.");
        var imageIds = ids.to(ScalarType.Int64).cpu().data<long>().ToArray();
        var allow = batch.TryGetValue(SampleKeys.AllowGeometric, out var flags) ? flags.cpu().data<bool>().ToArray() : null;
        var slots = new Dictionary<(long Id, bool Allow), long>();
        var rows = new List<long>();
        var rowAllow = new List<bool>();
        var index = new long[imageIds.Length];
        for (var i = 0; i < imageIds.Length; i++)
        {
            var key = (imageIds[i], allow?[i] ?? true);
            if (!slots.TryGetValue(key, out var slot))
            {
                slot = slots[key] = rows.Count;
                rows.Add(i);
                rowAllow.Add(key.Item2);
            }
            index[i] = slot;
        }
        using (var keep = tensor(rows.ToArray()))
            batch.Set(SampleKeys.Image, batch[SampleKeys.Image].index_select(0, keep));
        batch.Set(SampleKeys.ImageIndex, tensor(index));
        if (allow is not null)
            batch.Set(SampleKeys.AllowGeometric, tensor(rowAllow.ToArray()));
    }

    // Modality dropout: each image row becomes zeros (the mean colour after normalisation) with probability p.
    private static void DropImages(Batch batch, double p, ulong seed)
    {
        var images = batch[SampleKeys.Image];
        var random = new SeededRandom(seed);
        var keep = new float[images.shape[0]];
        for (var u = 0; u < keep.Length; u++)
            keep[u] = random.NextDouble() < p ? 0f : 1f;
        using var scope = NewDisposeScope();
        var mask = tensor(keep, dtype: images.dtype, device: images.device).view(-1, 1, 1, 1);
        batch.Set(SampleKeys.Image, images.mul(mask).MoveToOuterDisposeScope());
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
        var index = startBatch;
        // Each batch is built when the trainer asks for it, inside the step's dispose scope.
        foreach (var planned in Plan(epoch, startBatch))
            yield return Prepare(Load(planned), planned, epoch, index++);
    }

    private void CheckTargets(int datasetIndex)
    {
        var targets = _preparations[datasetIndex].Targets;
        if (targets.Count == 0)
            return;
        var dataset = _datasets[datasetIndex];
        using var scope = NewDisposeScope();
        using var sample = dataset.GetSample(0);
        foreach (var (task, keys) in targets)
        {
            if (keys is null || keys.Count == 0)
                throw new ArgumentException($"Task '{task}' of dataset '{dataset.Name}' names no sample entry for its targets.");
            foreach (var key in keys)
            {
                if (!sample.ContainsKey(key))
                    throw new ArgumentException(
                        $"Task '{task}' takes its targets from '{key}', but samples of dataset '{dataset.Name}' have: {string.Join(", ", sample.Keys.Order(StringComparer.Ordinal))}.");
            }
        }
    }
}
