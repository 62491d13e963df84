using SpatialNet.Training.Devices;
using SpatialNet.Training.Randomness;
using TorchSharp;
using static TorchSharp.torch;

namespace SpatialNet.Training.Transforms;

/// <summary>
/// One element of the dihedral group of the rectangle/square: an optional left–right flip followed by
/// <see cref="QuarterTurns"/> counter-clockwise quarter turns (as <c>torch.rot90(x, k, dims=(H, W))</c>).
/// Aerial and satellite images have no canonical "up", so all eight are valid augmentations of a square image.
/// </summary>
/// <param name="FlipHorizontal">Reverse the width axis first.</param>
/// <param name="QuarterTurns">Quarter turns 0–3 after the flip; odd values need square images.</param>
internal readonly record struct DihedralTransform(bool FlipHorizontal, int QuarterTurns)
{
    /// <summary>
    /// For an image of <paramref name="height"/> × <paramref name="width"/> pixels (row-major), the
    /// source pixel of every output pixel: <c>output[p] = input[map[p]]</c>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive or <see cref="QuarterTurns"/> is not 0–3.</exception>
    /// <exception cref="ArgumentException">An odd number of quarter turns on a non-square image.</exception>
    public long[] SourceIndexMap(int height, int width)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        if (QuarterTurns is < 0 or > 3)
            throw new ArgumentOutOfRangeException(nameof(QuarterTurns), QuarterTurns, "Must be 0, 1, 2 or 3.");
        if (QuarterTurns % 2 == 1 && height != width)
            throw new ArgumentException($"{QuarterTurns} quarter turn(s) need a square image; got {height}×{width}.");

        // map[p] = source pixel of output pixel p. Applying an operation whose output pixel q reads
        // pixel s(q) of its input composes as map'[q] = map[s(q)]; the image shape is tracked because
        // a quarter turn swaps height and width.
        var map = new long[(long)height * width];
        for (long p = 0; p < map.LongLength; p++)
            map[p] = p;
        int h = height, w = width;
        if (FlipHorizontal)
        {
            int inW = w;
            map = Compose(map, inW, h, w, (i, j) => (i, inW - 1 - j));
        }
        for (int t = 0; t < QuarterTurns; t++)
        {
            // torch.rot90(x, 1, dims=(H, W)) = x.flip(W).transpose(H, W): out[i, j] = in[j, W − 1 − i], shape W × H.
            int inW = w;
            map = Compose(map, inW, w, h, (i, j) => (j, inW - 1 - i));
            (h, w) = (w, h);
        }
        return map;
    }

    private static long[] Compose(long[] map, int inWidth, int outHeight, int outWidth, Func<int, int, (int Row, int Col)> source)
    {
        var result = new long[map.LongLength];
        for (int i = 0; i < outHeight; i++)
        {
            for (int j = 0; j < outWidth; j++)
            {
                var (r, c) = source(i, j);
                result[(long)i * outWidth + j] = map[(long)r * inWidth + c];
            }
        }
        return result;
    }
}

/// <summary>
/// Random flips and 90° rotations of a whole batch on its device in one gather: each allowed
/// <see cref="DihedralTransform"/> is a precomputed pixel permutation (an index map kept on the
/// device), and a batch with one transform index per sample is permuted by
/// <c>gather(images, maps[index])</c> — no per-sample work on the host, no host–device sync.
/// </summary>
/// <remarks>
/// Square images allow all eight transforms (<see cref="Transforms"/> in the order: flip × quarter
/// turns 0–3); other images allow the four that keep the shape (identity, half turn, and either flip).
/// Works on any dtype, so it runs on the uint8 cache before conversion to float (a quarter of the bytes).
/// </remarks>
internal sealed class DihedralAugmentation : IDisposable
{
    private readonly Tensor _maps;
    private bool _disposed;

    /// <summary>Builds the index maps for <paramref name="height"/> × <paramref name="width"/> images on <paramref name="device"/>.</summary>
    public DihedralAugmentation(int height, int width, Device device)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentNullException.ThrowIfNull(device);
        Height = height;
        Width = width;
        Device = device;
        var transforms = new List<DihedralTransform>(8);
        foreach (bool flip in new[] { false, true })
        {
            for (int k = 0; k < 4; k++)
            {
                if (k % 2 == 0 || height == width)
                    transforms.Add(new DihedralTransform(flip, k));
            }
        }
        Transforms = transforms;
        long pixels = (long)height * width;
        var all = new long[transforms.Count * pixels];
        for (int t = 0; t < transforms.Count; t++)
            transforms[t].SourceIndexMap(height, width).CopyTo(all, t * pixels);
        using var host = torch.tensor(all, [transforms.Count, pixels], ScalarType.Int64);
        _maps = host.to(device).DetachFromDisposeScope();
    }

    /// <summary>Image height.</summary>
    public int Height { get; }

    /// <summary>Image width.</summary>
    public int Width { get; }

    /// <summary>Device of the index maps (and of the batches it transforms).</summary>
    public Device Device { get; }

    /// <summary>The allowed transforms; a transform index is a position in this list.</summary>
    public IReadOnlyList<DihedralTransform> Transforms { get; }

    /// <summary>Draws one transform index per sample, uniformly over <see cref="Transforms"/>, from <paramref name="random"/>.</summary>
    public long[] Draw(SeededRandom random, int count)
    {
        ArgumentNullException.ThrowIfNull(random);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var ids = new long[count];
        for (int i = 0; i < count; i++)
            ids[i] = random.NextInt(Transforms.Count);
        return ids;
    }

    /// <summary>
    /// Applies transform <c>transforms[b]</c> to sample b of <paramref name="images"/> ([B, …, H, W]:
    /// any number of channel dimensions, any dtype, on <see cref="Device"/>). Returns a new tensor in
    /// the current dispose scope.
    /// </summary>
    /// <param name="images">Images [B, C, H, W] (or masks [B, H, W], or [B, T, C, H, W]).</param>
    /// <param name="transforms">Transform indices [B] into <see cref="Transforms"/> (int64, on <see cref="Device"/>).</param>
    /// <exception cref="ArgumentException">Shapes do not match.</exception>
    public Tensor Apply(Tensor images, Tensor transforms)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(transforms);
        int d = (int)images.dim();
        if (d < 3 || images.shape[d - 2] != Height || images.shape[d - 1] != Width)
            throw new ArgumentException($"Expected images [B, …, {Height}, {Width}]; got [{string.Join(", ", images.shape)}].", nameof(images));
        if (transforms.dim() != 1 || transforms.shape[0] != images.shape[0])
            throw new ArgumentException($"Expected one transform index per sample ([{images.shape[0]}]); got [{string.Join(", ", transforms.shape)}].", nameof(transforms));
        long b = images.shape[0], pixels = (long)Height * Width;
        using var scope = NewDisposeScope();
        var flat = images.reshape(b, -1, pixels);
        // The indices may come from the host: index_select needs them on the maps' device.
        var index = _maps.index_select(0, DeviceTransfer.To(transforms.to(ScalarType.Int64), _maps.device)).unsqueeze(1).expand(b, flat.shape[1], pixels);
        var result = flat.gather(2, index).reshape(images.shape);
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The index into <see cref="Transforms"/> of "left–right flip if <paramref name="flipHorizontal"/>[b],
    /// then <paramref name="quarterTurns"/>[b] counter-clockwise quarter turns", computed on the device
    /// without reading the values back. For images that are not square, only even turns exist
    /// (<see cref="Transforms"/> holds four elements) and odd ones are the caller's to exclude.
    /// </summary>
    /// <param name="flipHorizontal">Flip flags [B] (bool or 0/1).</param>
    /// <param name="quarterTurns">Quarter turns [B], any integers (taken modulo 4).</param>
    public Tensor TransformIndex(Tensor flipHorizontal, Tensor quarterTurns)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(flipHorizontal);
        ArgumentNullException.ThrowIfNull(quarterTurns);
        using var scope = NewDisposeScope();
        var flip = flipHorizontal.to(ScalarType.Int64).to(Device);
        var turns = quarterTurns.to(ScalarType.Int64).to(Device).remainder(4);
        // Transforms are listed flip-major: square images (flip, 0..3), others (flip, 0 or 2).
        var index = Height == Width ? flip * 4 + turns : flip * 2 + turns.div(2, rounding_mode: RoundingMode.floor);
        return index.MoveToOuterDisposeScope();
    }

    /// <summary>Frees the index maps.</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        _maps.Dispose();
    }
}
