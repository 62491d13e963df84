using SpatialNet.Training.Data;
using SpatialNet.Training.Engine;
using SeededRandom = SpatialNet.Training.Randomness.SeededRandom;
using SpatialNet.Training.Transforms;
using static TorchSharp.torch;

namespace SpatialNet.Training.Vqa;

/// <summary>Settings of a <see cref="VqaBatchSource"/>.</summary>
public sealed record VqaBatchSourceOptions
{
    /// <summary>Questions per batch (repeats count). Default 256.</summary>
    public int BatchSize { get; init; } = 256;

    /// <summary>Seed of the per-epoch shuffling and of the augmentation.</summary>
    public ulong Seed { get; init; }

    /// <summary>
    /// How many times each question of a type enters an epoch (default once). Oversampling a rare
    /// type — RSVQA-LR asks the rural/urban question once per image, 1 % of the questions — raises
    /// its weight in the loss without changing the head.
    /// </summary>
    public IReadOnlyDictionary<RsvqaQuestionType, int>? Repeats { get; init; }

    /// <summary>Deterministic preprocessing applied to every batch first (e.g. <see cref="ToFloat"/> then <see cref="Normalize"/>).</summary>
    public IBatchTransform? Preprocess { get; init; }

    /// <summary>
    /// Random flips and 90° rotations (the dihedral group of the square) per image row, except the
    /// rows kept for questions that name a side (the RSVQA rule). Default on.
    /// </summary>
    public bool FlipRotate { get; init; } = true;

    /// <summary>
    /// Batches of questions of similar length: each run of this many batches' worth of shuffled
    /// questions is sorted by token count before it is cut into batches, and the batches are then
    /// shuffled. Questions are padded to their batch's longest, and RSVQA-LR's run from 4 to 24
    /// tokens (8 on average), so this roughly halves the text work. 0 (default) turns it off.
    /// </summary>
    public int LengthBucketBatches { get; init; }

    /// <summary>
    /// Probability that an image row of a training batch is replaced by zeros after preprocessing —
    /// the training mean colour once <see cref="Normalize"/> has run — so that its questions must be
    /// answered from the text alone (modality dropout). The language path then carries the whole
    /// question prior, and the image path learns what the image adds to it instead of memorising
    /// the few training images. Default 0 (off).
    /// </summary>
    public double ImageDropProbability { get; init; }
}

/// <summary>
/// Training batches of a <see cref="VqaQuestionBank"/> for the <see cref="Trainer"/>: every question
/// (times its type's repeat count) once per epoch, in an order drawn from (seed, epoch), each batch
/// image-deduplicated (<see cref="VqaQuestionBank.Gather"/>), preprocessed, and augmented with a
/// generator seeded by (seed, epoch, batch) — so any batch can be rebuilt exactly, as resuming needs.
/// </summary>
public sealed class VqaBatchSource : IBatchSource, IDisposable
{
    private readonly VqaQuestionBank _bank;
    private readonly int[] _pool;
    // Reseeded per batch with (seed, epoch, batch); one instance keeps its pixel index maps across batches.
    private readonly RandomFlipRotate? _augment;

    /// <summary>Creates the source.</summary>
    /// <param name="bank">The training questions (owned by the caller).</param>
    /// <param name="options">Settings.</param>
    /// <exception cref="ArgumentOutOfRangeException">Batch size below 1 or a repeat count below 0.</exception>
    public VqaBatchSource(VqaQuestionBank bank, VqaBatchSourceOptions options)
    {
        ArgumentNullException.ThrowIfNull(bank);
        ArgumentNullException.ThrowIfNull(options);
        if (options.BatchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(options), options.BatchSize, "VqaBatchSourceOptions.BatchSize must be >= 1.");
        if (!(options.ImageDropProbability >= 0 && options.ImageDropProbability <= 1))
            throw new ArgumentOutOfRangeException(nameof(options), options.ImageDropProbability, "VqaBatchSourceOptions.ImageDropProbability must be in [0, 1].");
        if (options.LengthBucketBatches < 0)
            throw new ArgumentOutOfRangeException(nameof(options), options.LengthBucketBatches, "VqaBatchSourceOptions.LengthBucketBatches must be >= 0 (0: off).");
        foreach (var (type, r) in options.Repeats ?? new Dictionary<RsvqaQuestionType, int>())
            if (r < 0) throw new ArgumentOutOfRangeException(nameof(options), r, $"VqaBatchSourceOptions.Repeats[{type}] must be >= 0.");
        _bank = bank;
        Options = options;
        _augment = options.FlipRotate ? new RandomFlipRotate(options.Seed, allowKey: VqaQuestionBank.ImageAllowGeometricKey) : null;
        var pool = new List<int>(bank.Count);
        for (var q = 0; q < bank.Count; q++)
        {
            var repeats = options.Repeats is not null && options.Repeats.TryGetValue(bank.Questions[q].Type, out var r) ? r : 1;
            for (var k = 0; k < repeats; k++) pool.Add(q);
        }
        if (pool.Count == 0) throw new ArgumentException("The repeat counts leave no question to train on.", nameof(options));
        _pool = pool.ToArray();
        BatchesPerEpoch = (_pool.Length + options.BatchSize - 1) / options.BatchSize;
    }

    /// <summary>The settings.</summary>
    public VqaBatchSourceOptions Options { get; }

    /// <summary>Questions per epoch, repeats included.</summary>
    public int QuestionsPerEpoch => _pool.Length;

    /// <inheritdoc/>
    public int BatchesPerEpoch { get; }

    /// <inheritdoc/>
    public IEnumerable<IReadOnlyDictionary<string, Tensor>> GetBatches(int epoch, int startBatch = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        ArgumentOutOfRangeException.ThrowIfNegative(startBatch);
        return Iterate(epoch, startBatch);
    }

    /// <summary>The question indices of each batch of 0-based epoch <paramref name="epoch"/> (a function of seed and epoch only).</summary>
    public int[][] EpochBatches(int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        var order = new SeededRandom(SeededRandom.DeriveSeed(Options.Seed, 0, (ulong)epoch)).Permutation(_pool.Length);
        var questions = order.Select(i => _pool[i]).ToArray();
        var size = Options.BatchSize;
        var batches = new int[BatchesPerEpoch][];
        if (Options.LengthBucketBatches == 0)
        {
            for (var b = 0; b < batches.Length; b++)
                batches[b] = questions.AsSpan(b * size, Math.Min(size, questions.Length - b * size)).ToArray();
            return batches;
        }

        var chunk = size * Options.LengthBucketBatches;
        var next = 0;
        for (var start = 0; start < questions.Length; start += chunk)
        {
            // Stable sort: equal lengths keep their shuffled order.
            var sorted = questions.AsSpan(start, Math.Min(chunk, questions.Length - start)).ToArray().OrderBy(_bank.TokenCount).ToArray();
            for (var s = 0; s < sorted.Length; s += size)
                batches[next++] = sorted.AsSpan(s, Math.Min(size, sorted.Length - s)).ToArray();
        }
        new SeededRandom(SeededRandom.DeriveSeed(Options.Seed, 2, (ulong)epoch)).Shuffle(batches.AsSpan());
        return batches;
    }

    private IEnumerable<IReadOnlyDictionary<string, Tensor>> Iterate(int epoch, int startBatch)
    {
        var batches = EpochBatches(epoch);
        for (var b = startBatch; b < BatchesPerEpoch; b++)
        {
            var indices = batches[b];
            // Created inside the trainer's step scope: freed with the step.
            var batch = _bank.Gather(indices);
            Options.Preprocess?.Apply(batch);
            if (_augment is not null)
            {
                _augment.Reseed(SeededRandom.DeriveSeed(Options.Seed, 1, (ulong)epoch, (ulong)b));
                _augment.Apply(batch);
            }
            if (Options.ImageDropProbability > 0)
                DropImages(batch, SeededRandom.DeriveSeed(Options.Seed, 3, (ulong)epoch, (ulong)b));
            yield return batch;
        }
    }

    /// <summary>Frees the augmentation's generator and pixel index maps.</summary>
    public void Dispose() => _augment?.Dispose();

    private void DropImages(Batch batch, ulong seed)
    {
        var images = batch[VqaQuestionBank.ImageKey];
        var random = new SeededRandom(seed);
        var keep = new float[images.shape[0]];
        for (var u = 0; u < keep.Length; u++) keep[u] = random.NextDouble() < Options.ImageDropProbability ? 0f : 1f;
        using var scope = NewDisposeScope();
        var mask = tensor(keep, dtype: images.dtype, device: images.device).view(-1, 1, 1, 1);
        batch.Set(VqaQuestionBank.ImageKey, images.mul(mask).MoveToOuterDisposeScope());
    }
}
