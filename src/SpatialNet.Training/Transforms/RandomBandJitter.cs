using SpatialNet.Training.Data;
using SpatialNet.Training.Randomness;
using static TorchSharp.torch;

namespace SpatialNet.Training.Transforms;

/// <summary>
/// Per-sample, per-band brightness and contrast jitter on float images (after <see cref="Normalize"/>):
/// x' = (x − μ_bc)·κ_bc + μ_bc + δ_bc, with μ_bc the band's mean in the image, κ ~ U(1 − contrast, 1 + contrast) and
/// δ ~ U(−brightness, brightness) in the image's units (torchvision's ColorJitter, band by band instead of on luminance).
/// Drawn from <see cref="SeededRandom"/>, reseeded per batch (<see cref="IRandomBatchTransform"/>). Photometric: the VQA rule does not restrict it.
/// </summary>
public sealed class RandomBandJitter : IRandomBatchTransform
{
    private SeededRandom _random;

    /// <summary>Creates the jitter.</summary>
    /// <param name="seed">Seed of the draws.</param>
    /// <param name="brightness">Largest brightness offset, ≥ 0 (0: none).</param>
    /// <param name="contrast">Largest relative contrast change, in [0, 1) (0: none).</param>
    /// <param name="key">The image entry.</param>
    /// <exception cref="ArgumentOutOfRangeException">A strength out of range.</exception>
    public RandomBandJitter(ulong seed, double brightness, double contrast, string key = SampleKeys.Image)
    {
        if (!(brightness >= 0) || double.IsInfinity(brightness))
            throw new ArgumentOutOfRangeException(nameof(brightness), brightness, "Brightness must be a finite number >= 0.");
        if (contrast is < 0 or >= 1 || double.IsNaN(contrast))
            throw new ArgumentOutOfRangeException(nameof(contrast), contrast, "Contrast must be in [0, 1).");
        _random = new SeededRandom(seed);
        Brightness = brightness;
        Contrast = contrast;
        Key = key;
    }

    /// <summary>Largest brightness offset.</summary>
    public double Brightness { get; }

    /// <summary>Largest relative contrast change.</summary>
    public double Contrast { get; }

    /// <summary>The image entry.</summary>
    public string Key { get; }

    /// <inheritdoc />
    public void Reseed(ulong seed) => _random = new SeededRandom(seed);

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">The images are not float [B, C, H, W].</exception>
    public void Apply(Batch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var x = batch[Key];
        if (!x.is_floating_point() || x.dim() != 4)
            throw new InvalidOperationException($"RandomBandJitter: '{Key}' must be float [B, C, H, W] (after ToFloat or Normalize); got {x.dtype} [{string.Join(", ", x.shape)}].");
        int n = checked((int)(x.shape[0] * x.shape[1]));
        var scale = new float[n];
        var shift = new float[n];
        for (int i = 0; i < n; i++)
        {
            scale[i] = (float)(1 + Contrast * (2 * _random.NextDouble() - 1));
            shift[i] = (float)(Brightness * (2 * _random.NextDouble() - 1));
        }
        using var scope = NewDisposeScope();
        var k = tensor(scale, [x.shape[0], x.shape[1], 1, 1]).to(x.device).to(x.dtype);
        var d = tensor(shift, [x.shape[0], x.shape[1], 1, 1]).to(x.device).to(x.dtype);
        var mean = x.mean([2, 3], keepdim: true);
        var result = x.sub(mean).mul_(k).add_(mean).add_(d).MoveToOuterDisposeScope();
        batch.Set(Key, result);
    }
}
