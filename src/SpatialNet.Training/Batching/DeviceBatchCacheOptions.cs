using SpatialNet.Training.Transforms;
using static TorchSharp.torch;

namespace SpatialNet.Training.Batching;

/// <summary>Geometric augmentation applied by <see cref="DeviceBatchCache"/>.</summary>
public enum AugmentationMode
{
    /// <summary>No augmentation.</summary>
    None,

    /// <summary>
    /// A uniformly drawn <see cref="DihedralTransform"/> per sample: flips and quarter turns (all eight
    /// for square images; identity, half turn and the two flips otherwise).
    /// </summary>
    FlipsAndRotations,
}

/// <summary>Where <see cref="DeviceBatchCache"/> keeps the decoded images.</summary>
public enum CacheResidence
{
    /// <summary>On the training device (always the case when that is the CPU).</summary>
    Device,

    /// <summary>In host memory, because the images do not fit the device budget; each batch is pinned and copied over asynchronously.</summary>
    Host,
}

/// <summary>Settings of a <see cref="DeviceBatchCache"/>.</summary>
public sealed class DeviceBatchCacheOptions
{
    /// <summary>Training device batches are delivered on; <c>null</c> is the CPU.</summary>
    public Device? Device { get; set; }

    /// <summary>Samples per batch.</summary>
    public int BatchSize { get; set; } = 32;

    /// <summary>Draw a new sample order every epoch (from <see cref="Seed"/> and the epoch).</summary>
    public bool Shuffle { get; set; } = true;

    /// <summary>Drop a final incomplete batch.</summary>
    public bool DropLast { get; set; }

    /// <summary>Seed of the sample order and of the augmentation draws.</summary>
    public ulong Seed { get; set; }

    /// <summary>Per-channel mean in [0, 1] units (value / 255); <c>null</c> is 0 for every channel.</summary>
    public IReadOnlyList<double>? Mean { get; set; }

    /// <summary>Per-channel standard deviation in [0, 1] units; <c>null</c> is 1 for every channel.</summary>
    public IReadOnlyList<double>? Std { get; set; }

    /// <summary>Geometric augmentation of each sample.</summary>
    public AugmentationMode Augmentation { get; set; } = AugmentationMode.FlipsAndRotations;

    /// <summary>Floating-point dtype of the delivered images: Float32, BFloat16 or Float16.</summary>
    public ScalarType OutputDType { get; set; } = ScalarType.Float32;

    /// <summary>Batch key of the images.</summary>
    public string ImageKey { get; set; } = "image";

    /// <summary>
    /// Most bytes of cached data kept on a CUDA device; larger data stays in host memory.
    /// <c>null</c>: half the device memory free when the cache is built (no limit when that cannot be read).
    /// </summary>
    public long? MaxDeviceBytes { get; set; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option and its allowed values.</summary>
    /// <param name="channels">Channels of the cached images (the length <see cref="Mean"/> and <see cref="Std"/> must have).</param>
    public void Validate(long channels)
    {
        if (BatchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "Must be >= 1.");
        if (Mean is not null && (Mean.Count != channels || Mean.Any(m => !double.IsFinite(m))))
            throw new ArgumentException($"{nameof(Mean)} must hold {channels} finite values (one per channel); got [{string.Join(", ", Mean)}].", nameof(Mean));
        if (Std is not null && (Std.Count != channels || Std.Any(s => !(s > 0) || double.IsInfinity(s))))
            throw new ArgumentException($"{nameof(Std)} must hold {channels} finite values > 0 (one per channel); got [{string.Join(", ", Std)}].", nameof(Std));
        if (!Enum.IsDefined(Augmentation))
            throw new ArgumentOutOfRangeException(nameof(Augmentation), Augmentation, "Allowed: None, FlipsAndRotations.");
        if (OutputDType is not (ScalarType.Float32 or ScalarType.BFloat16 or ScalarType.Float16))
            throw new ArgumentOutOfRangeException(nameof(OutputDType), OutputDType, "Allowed: Float32, BFloat16, Float16.");
        if (string.IsNullOrWhiteSpace(ImageKey))
            throw new ArgumentException($"{nameof(ImageKey)} must not be empty.", nameof(ImageKey));
        if (MaxDeviceBytes is < 0)
            throw new ArgumentOutOfRangeException(nameof(MaxDeviceBytes), MaxDeviceBytes, "Must be >= 0, or null.");
    }
}
