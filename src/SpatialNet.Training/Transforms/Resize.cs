using SpatialNet.Training.Data;
using SpatialNet.Training.Imaging;
using static TorchSharp.torch;

namespace SpatialNet.Training.Transforms;

/// <summary>
/// Resizes images (bilinear, antialiased when shrinking; see <see cref="ImageResampler"/>) to a fixed
/// size on their device. uint8 images stay uint8 (rounded). With <see cref="Nearest"/> (masks of class
/// indices, <c>[B, H, W]</c> or <c>[B, C, H, W]</c>) values are copied from the nearest source pixel, never blended.
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

    /// <summary>Nearest-neighbour resampling (PyTorch's <c>mode="nearest"</c>), for masks: the dtype is kept and no value is invented.</summary>
    public bool Nearest { get; init; }

    /// <inheritdoc/>
    public void Apply(Batch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var x = batch[Key];
        if (x.shape[^2] == Height && x.shape[^1] == Width) return;
        using var scope = NewDisposeScope();
        if (Nearest)
        {
            var planes = x.dim() == 3 ? x.unsqueeze(1) : x;
            var nearest = nn.functional.interpolate(planes.to(ScalarType.Float64), [Height, Width], mode: InterpolationMode.Nearest).to(x.dtype);
            batch.Set(Key, (x.dim() == 3 ? nearest.squeeze(1) : nearest).MoveToOuterDisposeScope());
            return;
        }
        var input = x.is_floating_point() ? x : x.to(ScalarType.Float32);
        var resized = ImageResampler.Resize(input, Height, Width, Antialias);
        if (!x.is_floating_point()) resized = resized.round().clamp(0, 255).to(x.dtype);
        batch.Set(Key, resized.MoveToOuterDisposeScope());
    }
}
