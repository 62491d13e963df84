using SpatialNet.Modules;
using SpatialNet.Training.Data;
using SpatialNet.Training.Imaging;
using TorchSharp;
using static TorchSharp.torch;

namespace SpatialNet.Training.Transforms;

/// <summary>
/// A transform of a whole <see cref="Batch"/> on the device its tensors live on (after
/// <see cref="Batch.MoveTo"/>), so augmentation costs no host round trip. It replaces tensors in place.
/// </summary>
public interface IBatchTransform
{
    /// <summary>Transforms the batch in place.</summary>
    void Apply(Batch batch);
}

/// <summary>
/// A transform that draws random numbers. A batch source reseeds it before every batch with a seed
/// derived from (seed, epoch, batch), so a resumed run draws exactly the augmentation an
/// uninterrupted one would, whatever happened before.
/// </summary>
public interface IRandomBatchTransform : IBatchTransform
{
    /// <summary>Restarts the transform's random stream from <paramref name="seed"/>.</summary>
    void Reseed(ulong seed);
}

/// <summary>Runs transforms in order; reseeding gives each random transform its own derived seed.</summary>
public sealed class BatchTransformPipeline : IRandomBatchTransform
{
    /// <summary>Creates the pipeline.</summary>
    public BatchTransformPipeline(params IBatchTransform[] transforms)
    {
        ArgumentNullException.ThrowIfNull(transforms);
        Transforms = transforms.ToArray();
    }

    /// <summary>The transforms, in order.</summary>
    public IReadOnlyList<IBatchTransform> Transforms { get; }

    /// <inheritdoc/>
    public void Apply(Batch batch)
    {
        foreach (var t in Transforms) t.Apply(batch);
    }

    /// <inheritdoc/>
    public void Reseed(ulong seed)
    {
        for (var i = 0; i < Transforms.Count; i++)
            if (Transforms[i] is IRandomBatchTransform random)
                random.Reseed(Randomness.SeededRandom.DeriveSeed(seed, (ulong)i));
    }
}

/// <summary>uint8 images → float32 in [0, 1] (value / 255). Floating-point images are left as they are.</summary>
public sealed class ToFloat : IBatchTransform
{
    /// <summary>Creates the transform for the tensor called <paramref name="key"/>.</summary>
    public ToFloat(string key = SampleKeys.Image) => Key = key;

    /// <summary>The tensor transformed.</summary>
    public string Key { get; }

    /// <inheritdoc/>
    public void Apply(Batch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var x = batch[Key];
        if (x.is_floating_point()) return;
        batch.Set(Key, ToUnitFloat(x));
    }

    internal static Tensor ToUnitFloat(Tensor x)
    {
        using var f = x.to(ScalarType.Float32);
        return f.div_(255.0f).alias();
    }
}

/// <summary>
/// Per-band normalisation <c>(x − mean) / std</c> of images in [0, 1] (uint8 input is first divided by
/// 255), with the dataset's <see cref="NormalizationStatistics"/>.
/// </summary>
public sealed class Normalize : IBatchTransform, IDisposable
{
    // Kept per device and dtype, made once: a per-batch upload would make the host wait for the GPU's queued work.
    private readonly DeviceConstant _mean;
    private readonly DeviceConstant _std;

    /// <summary>Creates the transform from per-band mean and std in [0, 1] units.</summary>
    /// <exception cref="ArgumentException">Lengths differ or a std is not positive.</exception>
    public Normalize(IReadOnlyList<double> mean, IReadOnlyList<double> std, string key = SampleKeys.Image)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        if (mean.Count == 0 || mean.Count != std.Count || std.Any(s => !(s > 0)))
            throw new ArgumentException($"Normalize needs equal-length mean and std with positive std; got [{string.Join(", ", mean)}] and [{string.Join(", ", std)}].");
        _mean = new DeviceConstant(mean);
        _std = new DeviceConstant(std);
        Key = key;
    }

    /// <summary>Creates the transform from computed statistics.</summary>
    public Normalize(NormalizationStatistics statistics, string key = SampleKeys.Image)
        : this((statistics ?? throw new ArgumentNullException(nameof(statistics))).Mean, statistics.Std, key) { }

    /// <summary>The tensor transformed.</summary>
    public string Key { get; }

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">The image's band count differs from the statistics'.</exception>
    public void Apply(Batch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var x = batch[Key];
        var channels = x.shape[^3];
        if (channels != _mean.Count)
            throw new InvalidOperationException($"Normalize: '{Key}' has {channels} bands [{string.Join(", ", x.shape)}] but the statistics have {_mean.Count}.");
        using var scope = NewDisposeScope();
        var input = x.is_floating_point() ? x : ToFloat.ToUnitFloat(x);
        var result = input.sub(_mean.Like(input).view(-1, 1, 1)).div_(_std.Like(input).view(-1, 1, 1)).MoveToOuterDisposeScope();
        batch.Set(Key, result);
    }

    /// <summary>Frees the per-device copies of the statistics.</summary>
    public void Dispose()
    {
        _mean.Dispose();
        _std.Dispose();
    }
}

/// <summary>
/// Resizes images (bilinear, antialiased when shrinking; see <see cref="ImageResampler"/>) to a fixed
/// size on their device. uint8 images stay uint8 (rounded).
/// </summary>
public sealed class Resize : IBatchTransform
{
    /// <summary>Creates the transform.</summary>
    public Resize(int height, int width, bool antialias = true, string key = SampleKeys.Image)
    {
        if (height <= 0 || width <= 0) throw new ArgumentOutOfRangeException(nameof(height), $"Resize needs a positive size; got {height}×{width}.");
        Height = height;
        Width = width;
        Antialias = antialias;
        Key = key;
    }

    /// <summary>Target height.</summary>
    public int Height { get; }

    /// <summary>Target width.</summary>
    public int Width { get; }

    /// <summary>Whether shrinking is antialiased.</summary>
    public bool Antialias { get; }

    /// <summary>The tensor transformed.</summary>
    public string Key { get; }

    /// <inheritdoc/>
    public void Apply(Batch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var x = batch[Key];
        if (x.shape[^2] == Height && x.shape[^1] == Width) return;
        using var scope = NewDisposeScope();
        var input = x.is_floating_point() ? x : x.to(ScalarType.Float32);
        var resized = ImageResampler.Resize(input, Height, Width, Antialias);
        if (!x.is_floating_point()) resized = resized.round().clamp(0, 255).to(x.dtype);
        batch.Set(Key, resized.MoveToOuterDisposeScope());
    }
}

/// <summary>Replaces every image by zeros — the mean colour once normalised — for the blanked-image ablation.</summary>
internal sealed class BlankImages : IBatchTransform
{
    /// <inheritdoc />
    public void Apply(Batch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        batch.Set(SampleKeys.Image, torch.zeros_like(batch[SampleKeys.Image]));
    }
}
