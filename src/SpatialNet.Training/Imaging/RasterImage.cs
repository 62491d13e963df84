using static TorchSharp.torch;

namespace SpatialNet.Training.Imaging;

/// <summary>
/// A decoded image in band-sequential (planar) layout <c>[C, H, W]</c>: channel c, row y, column x
/// is at index <c>(c·H + y)·W + x</c>. Samples are 8-bit (<see cref="Pixels8"/>) or 16-bit
/// (<see cref="Pixels16"/>, host byte order); <see cref="ToUInt8"/> turns a 16-bit image into 8-bit
/// with a documented <see cref="SixteenBitScaling"/>.
/// </summary>
public sealed class RasterImage
{
    private RasterImage(int channels, int height, int width, byte[]? pixels8, ushort[]? pixels16)
    {
        Channels = channels;
        Height = height;
        Width = width;
        Pixels8 = pixels8;
        Pixels16 = pixels16;
    }

    /// <summary>Number of bands C.</summary>
    public int Channels { get; }

    /// <summary>Height H in pixels.</summary>
    public int Height { get; }

    /// <summary>Width W in pixels.</summary>
    public int Width { get; }

    /// <summary>8 or 16.</summary>
    public int BitsPerSample => Pixels8 is not null ? 8 : 16;

    /// <summary>The samples of an 8-bit image, <c>[C, H, W]</c>; null for a 16-bit image.</summary>
    public byte[]? Pixels8 { get; }

    /// <summary>The samples of a 16-bit image, <c>[C, H, W]</c>; null for an 8-bit image.</summary>
    public ushort[]? Pixels16 { get; }

    /// <summary>Number of samples, C·H·W.</summary>
    public long SampleCount => (long)Channels * Height * Width;

    /// <summary>Wraps 8-bit samples in <c>[C, H, W]</c> order (the array is used, not copied).</summary>
    /// <exception cref="ArgumentException">A dimension is not positive or the length is not C·H·W.</exception>
    public static RasterImage FromBytes(byte[] pixels, int channels, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        CheckShape(pixels.LongLength, channels, height, width);
        return new RasterImage(channels, height, width, pixels, null);
    }

    /// <summary>Wraps 16-bit samples in <c>[C, H, W]</c> order (the array is used, not copied).</summary>
    /// <exception cref="ArgumentException">A dimension is not positive or the length is not C·H·W.</exception>
    public static RasterImage FromUInt16(ushort[] pixels, int channels, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        CheckShape(pixels.LongLength, channels, height, width);
        return new RasterImage(channels, height, width, null, pixels);
    }

    /// <summary>Copies a uint8 tensor <c>[C, H, W]</c> (any device) into an 8-bit image.</summary>
    /// <exception cref="ArgumentException">The tensor is not uint8 or not three-dimensional.</exception>
    public static RasterImage FromTensor(Tensor image)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.dtype != ScalarType.Byte || image.dim() != 3)
            throw new ArgumentException($"Expected a uint8 tensor [C, H, W]; got {image.dtype} [{string.Join(", ", image.shape)}].", nameof(image));
        using var cpu = image.cpu().contiguous();
        var data = cpu.data<byte>().ToArray();
        return FromBytes(data, (int)image.shape[0], (int)image.shape[1], (int)image.shape[2]);
    }

    /// <summary>The sample at band <paramref name="c"/>, row <paramref name="y"/>, column <paramref name="x"/>.</summary>
    public int this[int c, int y, int x]
    {
        get
        {
            var i = ((long)c * Height + y) * Width + x;
            return Pixels8 is not null ? Pixels8[i] : Pixels16![i];
        }
    }

    /// <summary>
    /// This image as 8-bit: an 8-bit image is returned as is; a 16-bit image is mapped with
    /// <paramref name="scaling"/> (default <see cref="SixteenBitScaling.FullRange"/>).
    /// </summary>
    public RasterImage ToUInt8(SixteenBitScaling? scaling = null)
    {
        if (Pixels8 is not null) return this;
        var bytes = (scaling ?? SixteenBitScaling.FullRange).Apply(Pixels16!, Channels, Height, Width);
        return new RasterImage(Channels, Height, Width, bytes, null);
    }

    /// <summary>
    /// The samples mapped to [0, 1] band by band, (clamp(v, lo_c, hi_c) − lo_c) / (hi_c − lo_c), band-sequential
    /// <c>[C, H, W]</c>, without rounding to 8 bits.
    /// </summary>
    /// <param name="range">One [Low, High] for every band or one per band; null: the sample type's range (0–255 or 0–65535).</param>
    /// <exception cref="ArgumentException">The range has another number of pairs than 1 or <see cref="Channels"/>.</exception>
    public float[] ToUnitValues(IReadOnlyList<(double Low, double High)>? range = null)
    {
        if (range is not null && range.Count != 1 && range.Count != Channels)
            throw new ArgumentException($"The input range has {range.Count} [low, high] pairs; the image has {Channels} bands (give one pair or one per band).", nameof(range));
        var plane = Height * Width;
        var result = new float[SampleCount];
        for (var c = 0; c < Channels; c++)
        {
            var (lo, hi) = range is null ? (0.0, Pixels8 is not null ? 255.0 : 65535.0) : range[range.Count == 1 ? 0 : c];
            var scale = 1.0 / (hi - lo);
            for (int i = c * plane, end = i + plane; i < end; i++)
            {
                double v = Pixels8 is not null ? Pixels8[i] : Pixels16![i];
                result[i] = (float)((Math.Clamp(v, lo, hi) - lo) * scale);
            }
        }
        return result;
    }

    /// <summary>
    /// A new CPU tensor <c>[C, H, W]</c>: uint8 for an 8-bit image, int32 for a 16-bit image
    /// (TorchSharp has no general-purpose uint16 arithmetic).
    /// </summary>
    public Tensor ToTensor()
    {
        ReadOnlySpan<long> shape = [Channels, Height, Width];
        if (Pixels8 is not null) return tensor(Pixels8, shape, ScalarType.Byte);
        var widened = new int[Pixels16!.Length];
        for (var i = 0; i < widened.Length; i++) widened[i] = Pixels16[i];
        return tensor(widened, shape, ScalarType.Int32);
    }

    private static void CheckShape(long length, int channels, int height, int width)
    {
        if (channels <= 0 || height <= 0 || width <= 0)
            throw new ArgumentException($"Image dimensions must be positive; got C={channels}, H={height}, W={width}.");
        if (length != (long)channels * height * width)
            throw new ArgumentException($"Pixel array holds {length} samples; C·H·W = {channels}·{height}·{width} = {(long)channels * height * width}.");
    }
}
