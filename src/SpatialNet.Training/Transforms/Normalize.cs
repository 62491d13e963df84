using SpatialNet.Modules;
using SpatialNet.Training.Data;
using SpatialNet.Training.Imaging;
using static TorchSharp.torch;

namespace SpatialNet.Training.Transforms;

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
