using SpatialNet.Training.Data;
using SpatialNet.Training.Randomness;
using static TorchSharp.torch;

namespace SpatialNet.Training.Transforms;

/// <summary>
/// Random crops of a fixed size, the window drawn per sample (uniform over the positions inside the image)
/// from a seeded stream; every listed tensor of a sample (an image and its mask) gets the same window.
/// </summary>
internal sealed class RandomCrop : IRandomBatchTransform
{
    private readonly string[] _keys;
    private SeededRandom _random;

    /// <summary>Creates the transform.</summary>
    /// <param name="height">Crop height.</param>
    /// <param name="width">Crop width.</param>
    /// <param name="seed">Seed of the window positions.</param>
    /// <param name="keys">Tensors to crop, each <c>[B, …, H, W]</c> of the same H and W (default "image" and "mask").</param>
    public RandomCrop(int height, int width, ulong seed, IReadOnlyList<string>? keys = null)
    {
        if (height <= 0 || width <= 0) throw new ArgumentOutOfRangeException(nameof(height), $"RandomCrop needs a positive size; got {height}×{width}.");
        Height = height;
        Width = width;
        _random = new SeededRandom(seed);
        _keys = [.. keys ?? [SampleKeys.Image, SampleKeys.Mask]];
        if (_keys.Length == 0) throw new ArgumentException("At least one tensor name is needed.", nameof(keys));
    }

    /// <summary>Crop height.</summary>
    public int Height { get; }

    /// <summary>Crop width.</summary>
    public int Width { get; }

    /// <inheritdoc/>
    public void Reseed(ulong seed) => _random = new SeededRandom(seed);

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">The listed tensors differ in size, or an image is smaller than the crop.</exception>
    public void Apply(Batch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var present = _keys.Where(batch.ContainsKey).ToArray();
        if (present.Length == 0) return;
        var first = batch[present[0]];
        long n = first.shape[0], h = first.shape[^2], w = first.shape[^1];
        foreach (var key in present)
            if (batch[key].shape[^2] != h || batch[key].shape[^1] != w || batch[key].shape[0] != n)
                throw new InvalidOperationException($"RandomCrop: '{key}' is [{string.Join(", ", batch[key].shape)}] but '{present[0]}' is [{string.Join(", ", first.shape)}]; cropped tensors share batch size, height and width.");
        if (h < Height || w < Width)
            throw new InvalidOperationException($"RandomCrop: images are {w}×{h}, smaller than the {Width}×{Height} crop.");
        if (h == Height && w == Width) return;
        var offsets = new (long Y, long X)[n];
        for (int i = 0; i < n; i++) offsets[i] = (_random.NextIntInclusive(0, (int)(h - Height)), _random.NextIntInclusive(0, (int)(w - Width)));
        foreach (var key in present)
        {
            using var scope = NewDisposeScope();
            var x = batch[key];
            var crops = offsets.Select((o, i) => x[i].narrow(-2, o.Y, Height).narrow(-1, o.X, Width)).ToArray();
            batch.Set(key, stack(crops).contiguous().MoveToOuterDisposeScope());
        }
    }
}
