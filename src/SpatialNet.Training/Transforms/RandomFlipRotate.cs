using SpatialNet.Training.Devices;
using SpatialNet.Training.Data;
using static TorchSharp.torch;

namespace SpatialNet.Training.Transforms;

/// <summary>
/// Random horizontal and vertical flips and 90° rotations (the dihedral group of the square: aerial
/// and satellite images have no canonical "up"), drawn per sample from a seeded
/// CPU <see cref="Generator"/> (TorchSharp 0.107 creates CPU generators only, whatever device is asked
/// for), moved to the batch's device and applied there. Samples whose
/// <see cref="SampleKeys.AllowGeometric"/> flag is false (the RSVQA rule, <see cref="VqaAugmentationRule"/>)
/// are left untouched. All listed tensors of a sample get the same transform. The generator state can
/// be saved and restored (<see cref="GetState"/>, <see cref="SetState"/>) so a resumed run draws the
/// same transforms.
/// </summary>
public sealed class RandomFlipRotate : IRandomBatchTransform, IDisposable
{
    private ulong _seed;
    private readonly Dictionary<string, Generator> _generators = new(StringComparer.Ordinal);
    private readonly Dictionary<(long Height, long Width, string Device), DihedralAugmentation> _maps = [];
    private readonly string[] _keys;

    /// <summary>Creates the transform.</summary>
    /// <param name="seed">Seed of the generator (one per device, each started from this seed).</param>
    /// <param name="horizontalFlip">Probability of a left–right flip.</param>
    /// <param name="verticalFlip">Probability of a top–bottom flip.</param>
    /// <param name="rotate90">Rotate by k·90°, k uniform in {0, 1, 2, 3} (square images only).</param>
    /// <param name="keys">Tensors to transform (default "image"); each [B, …, H, W].</param>
    /// <param name="allowKey">Name of the per-sample bool flag that can forbid the transform; null ignores flags.</param>
    public RandomFlipRotate(ulong seed, double horizontalFlip = 0.5, double verticalFlip = 0.5, bool rotate90 = true,
        IReadOnlyList<string>? keys = null, string? allowKey = SampleKeys.AllowGeometric)
    {
        if (horizontalFlip is < 0 or > 1 || verticalFlip is < 0 or > 1)
            throw new ArgumentOutOfRangeException(nameof(horizontalFlip), $"Flip probabilities must be in [0, 1]; got {horizontalFlip} and {verticalFlip}.");
        Seed = seed;
        _seed = seed;
        HorizontalFlip = horizontalFlip;
        VerticalFlip = verticalFlip;
        Rotate90 = rotate90;
        _keys = (keys ?? [SampleKeys.Image]).ToArray();
        if (_keys.Length == 0) throw new ArgumentException("At least one tensor name is needed.", nameof(keys));
        AllowKey = allowKey;
    }

    /// <summary>The seed given at construction.</summary>
    public ulong Seed { get; }

    /// <inheritdoc/>
    public void Reseed(ulong seed)
    {
        _seed = seed;
        // Fresh generators from the new seed (created on first use per device), exactly as at construction.
        foreach (var g in _generators.Values) g.Dispose();
        _generators.Clear();
    }

    /// <summary>Probability of a horizontal flip.</summary>
    public double HorizontalFlip { get; }

    /// <summary>Probability of a vertical flip.</summary>
    public double VerticalFlip { get; }

    /// <summary>Whether 90° rotations are drawn.</summary>
    public bool Rotate90 { get; }

    /// <summary>The tensors transformed.</summary>
    public IReadOnlyList<string> Keys => _keys;

    /// <summary>The per-sample permission flag, or null.</summary>
    public string? AllowKey { get; }

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">
    /// <see cref="Rotate90"/> is on and a transformed tensor's images are not square (refused on every
    /// batch, not only when an odd quarter turn happens to be drawn).
    /// </exception>
    public void Apply(Batch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var first = batch[_keys[0]];
        var n = first.shape[0];
        if (Rotate90)
        {
            foreach (var key in _keys)
            {
                var shape = batch[key].shape;
                if (shape.Length >= 2 && shape[^1] != shape[^2])
                    throw new InvalidOperationException(
                        $"RandomFlipRotate: 90° rotations need square images; '{key}' is [{string.Join(", ", shape)}]. Resize first or create the transform with rotate90: false.");
            }
        }
        using var scope = NewDisposeScope();
        // Drawn on the CPU (n×3 numbers) and copied: a CUDA generator is not available in TorchSharp 0.107.
        var draws = DeviceTransfer.To(rand([n, 3], dtype: ScalarType.Float32, device: CPU, generator: GeneratorFor(first.device)), first.device);
        var h = draws[.., 0].lt(HorizontalFlip);
        var v = draws[.., 1].lt(VerticalFlip);
        var k = Rotate90 ? draws[.., 2].mul(4).floor().clamp(0, 3).to(ScalarType.Int64) : zeros(n, ScalarType.Int64, first.device);
        if (AllowKey is not null && batch.TryGetValue(AllowKey, out var allow))
        {
            var ok = allow.to(ScalarType.Bool).to(first.device).reshape(n);
            h = h.logical_and(ok);
            v = v.logical_and(ok);
            k = where(ok, k, zeros_like(k));
        }
        foreach (var key in _keys)
        {
            var x = batch[key];
            var result = GeometricOps.Apply(MapsFor(x), x, h, v, k).MoveToOuterDisposeScope();
            batch.Set(key, result);
        }
    }

    /// <summary>The generator state for <paramref name="device"/> (CPU bytes), to store in a checkpoint.</summary>
    public byte[] GetState(Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        using var state = GeneratorFor(device).get_state();
        return state.cpu().data<byte>().ToArray();
    }

    /// <summary>Restores a state returned by <see cref="GetState"/>.</summary>
    public void SetState(Device device, byte[] state)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(state);
        using var t = tensor(state, ScalarType.Byte);
        GeneratorFor(device).set_state(t);
    }

    /// <summary>Disposes the generators and the cached index maps.</summary>
    public void Dispose()
    {
        foreach (var g in _generators.Values) g.Dispose();
        _generators.Clear();
        foreach (var m in _maps.Values) m.Dispose();
        _maps.Clear();
    }

    // The pixel index maps of one image size on one device, built once: 8 transforms × H·W int64
    // (4 MiB at 256×256, 64 MiB at 1024×1024), kept until Dispose. Applying them also makes a
    // [B, H·W] int64 index per batch (temporary).
    private DihedralAugmentation MapsFor(Tensor x)
    {
        if (x.dim() < 3) throw new ArgumentException($"Expected [B, …, H, W]; got [{string.Join(", ", x.shape)}].", nameof(x));
        var key = (x.shape[^2], x.shape[^1], x.device.ToString());
        if (!_maps.TryGetValue(key, out var maps))
        {
            maps = new DihedralAugmentation((int)key.Item1, (int)key.Item2, x.device);
            _maps[key] = maps;
        }
        return maps;
    }

    private Generator GeneratorFor(Device device)
    {
        // One CPU generator per batch device, so each device's stream (and saved state) stays separate.
        var name = device.ToString();
        if (!_generators.TryGetValue(name, out var g))
        {
            g = new Generator(_seed, CPU);
            _generators[name] = g;
        }
        return g;
    }
}

/// <summary>The geometric operations behind <see cref="RandomFlipRotate"/>, with explicit per-sample choices.</summary>
internal static class GeometricOps
{
    /// <summary>
    /// Applies to each sample b of <paramref name="x"/> ([B, …, H, W]): a horizontal flip (reversing W) if
    /// <paramref name="horizontal"/>[b], then a vertical flip (reversing H) if <paramref name="vertical"/>[b],
    /// then a rotation by <paramref name="quarterTurns"/>[b]·90° counter-clockwise (as <c>torch.rot90</c>
    /// over the last two dimensions). Returns a new tensor.
    /// </summary>
    /// <remarks>
    /// The three choices are one element of the dihedral group, applied as one pixel gather
    /// (<see cref="DihedralAugmentation"/>): a vertical flip is a horizontal flip followed by a half
    /// turn, so the sample's transform is "flip if h ⊕ v, then k + 2v quarter turns". For square
    /// images nothing is read back from the device; for other images the quarter turns are checked
    /// on the host (odd turns would change the shape).
    /// </remarks>
    /// <exception cref="InvalidOperationException">A rotation by an odd number of quarter turns is requested on non-square images.</exception>
    public static Tensor Apply(Tensor x, Tensor horizontal, Tensor vertical, Tensor quarterTurns)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.dim() < 3) throw new ArgumentException($"Expected [B, …, H, W]; got [{string.Join(", ", x.shape)}].", nameof(x));
        using var maps = new DihedralAugmentation((int)x.shape[^2], (int)x.shape[^1], x.device);
        return Apply(maps, x, horizontal, vertical, quarterTurns);
    }

    /// <summary><see cref="Apply(Tensor, Tensor, Tensor, Tensor)"/> with index maps built beforehand for <paramref name="x"/>'s size and device.</summary>
    internal static Tensor Apply(DihedralAugmentation maps, Tensor x, Tensor horizontal, Tensor vertical, Tensor quarterTurns)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(horizontal);
        ArgumentNullException.ThrowIfNull(vertical);
        ArgumentNullException.ThrowIfNull(quarterTurns);
        if (x.dim() < 3) throw new ArgumentException($"Expected [B, …, H, W]; got [{string.Join(", ", x.shape)}].", nameof(x));
        using var scope = NewDisposeScope();
        var dev = x.device;
        var h = horizontal.to(ScalarType.Bool).to(dev).reshape(-1);
        var v = vertical.to(ScalarType.Bool).to(dev).reshape(-1);
        var turns = quarterTurns.to(ScalarType.Int64).to(dev).reshape(-1) + v.to(ScalarType.Int64) * 2;
        if (maps.Height != maps.Width && turns.remainder(2).ne(0).any().item<bool>())
            throw new InvalidOperationException($"90° rotations need square images; got [{string.Join(", ", x.shape)}]. Resize first or turn rotations off.");
        var index = maps.TransformIndex(h.logical_xor(v), turns);
        return maps.Apply(x, index).MoveToOuterDisposeScope();
    }
}
