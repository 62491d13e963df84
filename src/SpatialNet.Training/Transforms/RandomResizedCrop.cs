using SpatialNet.Training.Data;
using SpatialNet.Training.Imaging;
using SpatialNet.Training.Randomness;
using static TorchSharp.torch;

namespace SpatialNet.Training.Transforms;

/// <summary>
/// Random resized crop (Szegedy et al. 2015; torchvision's RandomResizedCrop): per sample an area fraction
/// s ~ U(<see cref="MinScale"/>, 1) and an aspect ratio r ~ logU(3/4, 4/3), a crop of w = √(s·r)·W by h = √(s/r)·H
/// (clamped to the image) at a uniform position, resized back to H×W (bilinear, antialiased). Samples whose
/// <see cref="AllowKey"/> entry is false (the VQA rule) are left as they are. Reseeded per batch.
/// </summary>
public sealed class RandomResizedCrop : IRandomBatchTransform
{
    private SeededRandom _random;

    /// <summary>Creates the crop.</summary>
    /// <param name="seed">Seed of the draws.</param>
    /// <param name="minScale">Smallest area fraction, in (0, 1].</param>
    /// <param name="key">The image entry.</param>
    /// <param name="allowKey">Per-sample bool entry that permits geometric transforms, or null.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="minScale"/> is not in (0, 1].</exception>
    public RandomResizedCrop(ulong seed, double minScale, string key = SampleKeys.Image, string? allowKey = SampleKeys.AllowGeometric)
    {
        if (!(minScale > 0 && minScale <= 1))
            throw new ArgumentOutOfRangeException(nameof(minScale), minScale, "The smallest crop area fraction must be in (0, 1].");
        _random = new SeededRandom(seed);
        MinScale = minScale;
        Key = key;
        AllowKey = allowKey;
    }

    /// <summary>Smallest area fraction of a crop.</summary>
    public double MinScale { get; }

    /// <summary>The image entry.</summary>
    public string Key { get; }

    /// <summary>Per-sample bool entry that permits geometric transforms, or null.</summary>
    public string? AllowKey { get; }

    /// <inheritdoc />
    public void Reseed(ulong seed) => _random = new SeededRandom(seed);

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">The images are not float [B, C, H, W].</exception>
    public void Apply(Batch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var x = batch[Key];
        if (!x.is_floating_point() || x.dim() != 4)
            throw new InvalidOperationException($"RandomResizedCrop: '{Key}' must be float [B, C, H, W] (after ToFloat or Normalize); got {x.dtype} [{string.Join(", ", x.shape)}].");
        int count = (int)x.shape[0], height = (int)x.shape[2], width = (int)x.shape[3];
        bool[]? allowed = AllowKey is not null && batch.TryGetValue(AllowKey, out var allow) ? allow.cpu().to(ScalarType.Bool).data<bool>().ToArray() : null;
        using var scope = NewDisposeScope();
        var samples = new List<Tensor>(count);
        for (int b = 0; b < count; b++)
        {
            // Every sample draws, allowed or not, so one sample's rule does not shift the others' crops.
            double s = MinScale + (1 - MinScale) * _random.NextDouble();
            double r = Math.Exp(Math.Log(3.0 / 4) + (Math.Log(4.0 / 3) - Math.Log(3.0 / 4)) * _random.NextDouble());
            int w = Math.Clamp((int)Math.Round(Math.Sqrt(s * r) * width), 1, width);
            int h = Math.Clamp((int)Math.Round(Math.Sqrt(s / r) * height), 1, height);
            int left = _random.NextInt(width - w + 1), top = _random.NextInt(height - h + 1);
            var sample = x[b];
            if (allowed is not null && !allowed[b])
            {
                samples.Add(sample);
                continue;
            }
            var crop = sample.narrow(1, top, h).narrow(2, left, w);
            samples.Add(ImageResampler.Resize(crop.contiguous(), height, width));
        }
        batch.Set(Key, stack(samples).MoveToOuterDisposeScope());
    }
}
