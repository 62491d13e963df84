using SpatialNet.Training.Devices;
using SpatialNet.Training.Transforms;
using SpatialNet.Training.Randomness;
using TorchSharp;
using static TorchSharp.torch;

namespace SpatialNet.Training.Batching;

/// <summary>
/// A decoded image dataset kept as uint8 <c>[N, C, H, W]</c> on the training device (when it fits),
/// from which batches are made entirely on that device: samples gathered by index, flipped and
/// rotated per sample (<see cref="DihedralAugmentation"/>), converted to float and normalised per
/// channel. Nothing goes through the host per batch — no decoding, no copies, no synchronisation —
/// so the input pipeline costs a handful of kernels per batch.
/// </summary>
/// <remarks>
/// <para>As an <see cref="IBatchSource"/>, batch b of epoch e is a function of the seed, e and b
/// only: the sample order is the permutation <see cref="SeededRandom"/>(<c>DeriveSeed(seed, e)</c>)
/// draws (the same order <see cref="InMemoryBatchSource"/> uses), and the transforms of batch b come
/// from <c>DeriveSeed(seed, e, b, 1)</c>. A run therefore resumes at any batch, a
/// <see cref="Prefetcher"/> yields exactly the sequential batches, and CPU and CUDA runs draw the
/// same. The draws are a few integers per batch, made on the host and copied to the device
/// asynchronously from pinned memory (TorchSharp 0.107 cannot create CUDA generators, and a
/// synchronous copy would make the host wait for the queued step).</para>
/// <para>Batches contain <see cref="DeviceBatchCacheOptions.ImageKey"/> (the images in
/// <see cref="DeviceBatchCacheOptions.OutputDType"/>) and every per-sample tensor given to the
/// constructor under its own key, gathered with the same indices. Their tensors join the caller's
/// current dispose scope.</para>
/// <para>When the images are larger than <see cref="DeviceBatchCacheOptions.MaxDeviceBytes"/> they
/// stay in host memory (<see cref="CacheResidence.Host"/>): each batch is gathered there, pinned and
/// copied asynchronously, uint8 (a quarter of float32's bytes).</para>
/// </remarks>
public sealed class DeviceBatchCache : IBatchSource, IDisposable
{
    private const ulong AugmentationStream = 1;

    private readonly Tensor _images;
    private readonly Dictionary<string, Tensor> _extras;
    private readonly Tensor _scale;
    private readonly Tensor _shift;
    private readonly DihedralAugmentation? _augmentation;
    private readonly Device _storage;
    private bool _disposed;

    /// <summary>Builds the cache (copies the data to the device, or keeps it in host memory if it does not fit).</summary>
    /// <param name="images">Decoded images, uint8 [N, C, H, W], on any device. The caller keeps ownership of this tensor.</param>
    /// <param name="perSample">Other per-sample tensors [N, …] (labels, targets) by batch key; gathered with the images. The caller keeps ownership.</param>
    /// <param name="options">Settings; default <see cref="DeviceBatchCacheOptions"/>.</param>
    /// <exception cref="ArgumentException">Wrong dtype or shape, mismatched sample counts, a key clash, or an invalid option.</exception>
    public DeviceBatchCache(Tensor images, IReadOnlyDictionary<string, Tensor>? perSample = null, DeviceBatchCacheOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(images);
        Options = options ?? new DeviceBatchCacheOptions();
        if (images.dtype != ScalarType.Byte || images.dim() != 4)
            throw new ArgumentException($"Images must be uint8 [N, C, H, W]; got {images.dtype} [{string.Join(", ", images.shape)}].", nameof(images));
        Options.Validate(images.shape[1]);
        if (images.shape[0] < 1 || images.shape[0] > int.MaxValue)
            throw new ArgumentException($"Sample count {images.shape[0]} is not in [1, {int.MaxValue}].", nameof(images));
        SampleCount = (int)images.shape[0];
        Channels = (int)images.shape[1];
        Height = (int)images.shape[2];
        Width = (int)images.shape[3];
        foreach (var (key, t) in perSample ?? new Dictionary<string, Tensor>())
        {
            if (key == Options.ImageKey)
                throw new ArgumentException($"Per-sample tensor '{key}' uses the image key (DeviceBatchCacheOptions.ImageKey).", nameof(perSample));
            if (t.dim() == 0 || t.shape[0] != SampleCount)
                throw new ArgumentException($"Per-sample tensor '{key}' has shape [{string.Join(", ", t.shape)}]; its first dimension must be the sample count {SampleCount}.", nameof(perSample));
        }
        BatchesPerEpoch = Options.DropLast ? SampleCount / Options.BatchSize : (SampleCount + Options.BatchSize - 1) / Options.BatchSize;
        if (BatchesPerEpoch == 0)
            throw new ArgumentException($"{SampleCount} samples make no complete batch of {Options.BatchSize} with DropLast.", nameof(options));

        Device = Options.Device ?? CPU;
        long bytes = images.NumberOfElements + (perSample?.Values.Sum(t => t.NumberOfElements * t.ElementSize) ?? 0);
        ImageBytes = images.NumberOfElements;
        Residence = Device.type == DeviceType.CPU || bytes <= DeviceBudget(Device) ? CacheResidence.Device : CacheResidence.Host;
        _storage = Residence == CacheResidence.Device ? Device : CPU;

        using (var scope = NewDisposeScope())
        {
            _images = Store(images).DetachFromDisposeScope();
            _extras = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            foreach (var (key, t) in perSample ?? new Dictionary<string, Tensor>())
                _extras[key] = Store(t).DetachFromDisposeScope();

            // (x/255 − mean)/std = x·scale + shift, per channel, as [1, C, 1, 1] on the training device.
            var scale = new float[Channels];
            var shift = new float[Channels];
            for (int c = 0; c < Channels; c++)
            {
                double mean = Options.Mean?[c] ?? 0.0, std = Options.Std?[c] ?? 1.0;
                scale[c] = (float)(1.0 / (255.0 * std));
                shift[c] = (float)(-mean / std);
            }
            _scale = torch.tensor(scale, [1, Channels, 1, 1]).to(Device).DetachFromDisposeScope();
            _shift = torch.tensor(shift, [1, Channels, 1, 1]).to(Device).DetachFromDisposeScope();
        }
        _augmentation = Options.Augmentation == AugmentationMode.None ? null : new DihedralAugmentation(Height, Width, Device);
    }

    /// <summary>Settings.</summary>
    public DeviceBatchCacheOptions Options { get; }

    /// <summary>Device batches are delivered on.</summary>
    public Device Device { get; }

    /// <summary>Where the images are kept.</summary>
    public CacheResidence Residence { get; }

    /// <summary>Number of samples N.</summary>
    public int SampleCount { get; }

    /// <summary>Channels C.</summary>
    public int Channels { get; }

    /// <summary>Height H.</summary>
    public int Height { get; }

    /// <summary>Width W.</summary>
    public int Width { get; }

    /// <summary>Bytes of cached image data (N·C·H·W).</summary>
    public long ImageBytes { get; }

    /// <summary>The augmentation, or <c>null</c> with <see cref="AugmentationMode.None"/>.</summary>
    internal DihedralAugmentation? Augmentation => _augmentation;

    /// <inheritdoc />
    public int BatchesPerEpoch { get; }

    /// <summary>The sample order of 0-based epoch <paramref name="epoch"/>: int64 [N] on the storage device, in the current dispose scope.</summary>
    public Tensor EpochOrder(int epoch)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        var order = Options.Shuffle
            ? new SeededRandom(SeededRandom.DeriveSeed(Options.Seed, (ulong)epoch)).Permutation(SampleCount)
            : Enumerable.Range(0, SampleCount).ToArray();
        return Upload(order.Select(i => (long)i).ToArray(), _storage);
    }

    /// <summary>The transform indices of batch <paramref name="batch"/> of epoch <paramref name="epoch"/> (int64 [count] on <see cref="Device"/>), or <c>null</c> without augmentation.</summary>
    public Tensor? BatchTransforms(int epoch, int batch, int count)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_augmentation is null)
            return null;
        var random = new SeededRandom(SeededRandom.DeriveSeed(Options.Seed, (ulong)epoch, (ulong)batch, AugmentationStream));
        return Upload(_augmentation.Draw(random, count), Device);
    }

    /// <summary>The cached uint8 images at <paramref name="indices"/> (int64 [B]), as [B, C, H, W] on <see cref="Device"/>, in the current dispose scope.</summary>
    public Tensor Gather(Tensor indices)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(indices);
        return Select(_images, indices);
    }

    /// <summary>
    /// Makes the batch of samples <paramref name="indices"/>: images gathered, transformed by
    /// <paramref name="transforms"/> (indices into <see cref="DihedralAugmentation.Transforms"/>, one
    /// per sample; <c>null</c> for none), converted to <see cref="DeviceBatchCacheOptions.OutputDType"/>
    /// and normalised; every per-sample tensor gathered alike. Tensors join the current dispose scope.
    /// </summary>
    /// <exception cref="InvalidOperationException">Transforms were given but augmentation is off.</exception>
    public IReadOnlyDictionary<string, Tensor> PrepareBatch(Tensor indices, Tensor? transforms = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(indices);
        if (transforms is not null && _augmentation is null)
            throw new InvalidOperationException("Transforms were given, but DeviceBatchCacheOptions.Augmentation is None.");
        var batch = new Dictionary<string, Tensor>(_extras.Count + 1, StringComparer.Ordinal);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var raw = Select(_images, indices);
        if (transforms is not null)
            raw = _augmentation!.Apply(raw, DeviceTransfer.To(transforms, Device));
        var x = raw.to(ScalarType.Float32).mul_(_scale).add_(_shift);
        if (Options.OutputDType != ScalarType.Float32)
            x = x.to(Options.OutputDType);
        batch[Options.ImageKey] = x.MoveToOuterDisposeScope();
        foreach (var (key, t) in _extras)
            batch[key] = Select(t, indices).MoveToOuterDisposeScope();
        return batch;
    }

    /// <inheritdoc />
    public IEnumerable<IReadOnlyDictionary<string, Tensor>> GetBatches(int epoch, int startBatch = 0)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        ArgumentOutOfRangeException.ThrowIfNegative(startBatch);
        return Iterate(epoch, startBatch);
    }

    /// <summary>Frees the cached data.</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        _images.Dispose();
        foreach (var t in _extras.Values)
            t.Dispose();
        _scale.Dispose();
        _shift.Dispose();
        _augmentation?.Dispose();
    }

    private IEnumerable<IReadOnlyDictionary<string, Tensor>> Iterate(int epoch, int startBatch)
    {
        // The order lives across batches while the caller's scope changes every step: keep it out of scopes.
        Tensor? order = null;
        try
        {
            for (int b = startBatch; b < BatchesPerEpoch; b++)
            {
                order ??= EpochOrder(epoch).DetachFromDisposeScope();
                int start = b * Options.BatchSize;
                int count = Math.Min(Options.BatchSize, SampleCount - start);
                IReadOnlyDictionary<string, Tensor> batch;
                using (var scope = NewDisposeScope())
                {
                    batch = PrepareBatch(order.narrow(0, start, count), BatchTransforms(epoch, b, count));
                    foreach (var t in batch.Values)
                        t.MoveToOuterDisposeScope();
                }
                yield return batch;
            }
        }
        finally
        {
            order?.Dispose();
        }
    }

    private Tensor Store(Tensor t)
    {
        // Host-resident data stays in ordinary memory: each gathered batch is pinned on its way to the
        // device (DeviceTransfer), so pinning the whole dataset would only tie up page-locked memory.
        var stored = DeviceTransfer.IsOn(t, _storage) ? t.alias() : t.to(_storage);
        return stored.contiguous();
    }

    private Tensor Select(Tensor data, Tensor indices)
    {
        using var scope = NewDisposeScope();
        var rows = data.index_select(0, DeviceTransfer.To(indices, _storage).to(ScalarType.Int64));
        rows = DeviceTransfer.To(rows, Device);
        return rows.MoveToOuterDisposeScope();
    }

    /// <summary>Host values as a tensor on <paramref name="device"/>; to CUDA through pinned memory, without waiting for the device.</summary>
    private static Tensor Upload(long[] values, Device device)
    {
        using var scope = NewDisposeScope();
        return DeviceTransfer.To(torch.tensor(values), device).MoveToOuterDisposeScope();
    }


    private long DeviceBudget(Device device)
    {
        if (Options.MaxDeviceBytes is long max)
            return max;
        return device.type == DeviceType.CUDA && DeviceMemory.TryGetCudaMemory(out long free, out _) ? free / 2 : long.MaxValue;
    }
}
