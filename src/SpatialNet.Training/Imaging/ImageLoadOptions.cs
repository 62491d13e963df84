namespace SpatialNet.Training.Imaging;

/// <summary>How a dataset turns an image file into the 8-bit <c>[C, H, W]</c> array it caches.</summary>
public sealed record ImageLoadOptions
{
    /// <summary>How 16-bit samples become 8-bit (default <see cref="SixteenBitScaling.FullRange"/>).</summary>
    public SixteenBitScaling Scaling { get; init; } = SixteenBitScaling.FullRange;

    /// <summary>
    /// Zero-based bands to keep, in order (e.g. <c>[3, 2, 1]</c> for Sentinel-2 B4,B3,B2 as RGB);
    /// null keeps all. Applied before <see cref="ExpectedBands"/> is checked.
    /// </summary>
    public IReadOnlyList<int>? SelectBands { get; init; }

    /// <summary>If set, an image with another band count is rejected with <see cref="ImageDecodeException"/> (field <c>SamplesPerPixel</c>).</summary>
    public int? ExpectedBands { get; init; }

    /// <summary>If set (with <see cref="Width"/>), images are resized (bilinear, antialiased) to this height when cached.</summary>
    public int? Height { get; init; }

    /// <summary>If set (with <see cref="Height"/>), images are resized to this width when cached.</summary>
    public int? Width { get; init; }

    /// <summary>
    /// Keep 16-bit samples as they are (cached at two bytes a sample) instead of scaling them to 8 bits with
    /// <see cref="Scaling"/>; <see cref="ImageCache.LoadTensor"/> then maps them to [0, 1] through <see cref="InputRange"/>.
    /// </summary>
    public bool NativePrecision { get; init; }

    /// <summary>
    /// With <see cref="NativePrecision"/>: the raw values [Low, High] mapped to 0 and 1 (clamped), one pair for every
    /// band or one per band (after <see cref="SelectBands"/>); null: the sample type's range (0–255 for 8-bit, 0–65535 for 16-bit).
    /// </summary>
    public IReadOnlyList<(double Low, double High)>? InputRange { get; init; }

    /// <summary>A short text that changes whenever the cached bytes would (for disk-cache keys).</summary>
    internal string Fingerprint =>
        $"scale={Scaling.Mode}:{Scaling.Low}:{Scaling.High};bands={(SelectBands is null ? "all" : string.Join(",", SelectBands))};" +
        $"expect={ExpectedBands};size={Height}x{Width};native={NativePrecision}";

    internal void Validate()
    {
        if ((Height is null) != (Width is null))
            throw new ArgumentException($"ImageLoadOptions.Height and Width must be set together; got Height={Height}, Width={Width}.");
        if (Height is <= 0 || Width is <= 0)
            throw new ArgumentException($"ImageLoadOptions.Height and Width must be positive; got {Height}×{Width}.");
        if (ExpectedBands is <= 0)
            throw new ArgumentException($"ImageLoadOptions.ExpectedBands must be positive; got {ExpectedBands}.");
        if (InputRange is { } r && (r.Count == 0 || r.Any(p => !double.IsFinite(p.Low) || !double.IsFinite(p.High) || !(p.High > p.Low))))
            throw new ArgumentException($"ImageLoadOptions.InputRange needs finite pairs with High > Low; got [{string.Join(", ", r.Select(p => $"[{p.Low}, {p.High}]"))}].");
        if (SelectBands is { Count: 0 })
            throw new ArgumentException("ImageLoadOptions.SelectBands must name at least one band (or be null for all bands).");
    }
}
