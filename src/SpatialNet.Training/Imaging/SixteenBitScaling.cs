namespace SpatialNet.Training.Imaging;

/// <summary>How <see cref="SixteenBitScaling"/> maps 16-bit samples to 8-bit.</summary>
public enum SixteenBitScalingMode
{
    /// <summary>One fixed input range [Low, High] for every band and image.</summary>
    FixedRange,

    /// <summary>Per image and band, the range between two percentiles (Low %, High %) of that band.</summary>
    PerBandPercentile,
}

/// <summary>
/// Maps 16-bit samples to 8-bit: <c>out = round((clamp(v, lo, hi) − lo) / (hi − lo) · 255)</c>,
/// rounding halves away from zero; a band whose range is empty (hi = lo) becomes 0.
/// <see cref="FullRange"/> (lo 0, hi 65535, i.e. <c>round(v / 257)</c>) and <see cref="FixedRange"/>
/// treat every image alike, so values keep their meaning across a dataset (use these for training);
/// a per-image stretch (<see cref="PerBandMinMax"/>, <see cref="PerBandPercentile"/>) is for viewing
/// and for data whose absolute scale is meaningless.
/// </summary>
/// <param name="Mode">Fixed range or per-band percentiles.</param>
/// <param name="Low">Lower end: a sample value (fixed range) or a percentage 0–100 (percentiles).</param>
/// <param name="High">Upper end, as <paramref name="Low"/>.</param>
public sealed record SixteenBitScaling(SixteenBitScalingMode Mode, double Low, double High)
{
    /// <summary>[0, 65535] → [0, 255], i.e. <c>round(v / 257)</c>.</summary>
    public static SixteenBitScaling FullRange { get; } = new(SixteenBitScalingMode.FixedRange, 0, 65535);

    /// <summary>Each band of each image stretched between its own minimum and maximum.</summary>
    public static SixteenBitScaling PerBandMinMax { get; } = new(SixteenBitScalingMode.PerBandPercentile, 0, 100);

    /// <summary>
    /// A fixed input range, e.g. <c>FixedRange(0, 10000)</c> for Sentinel-2 L1C/L2A reflectance
    /// ×10⁴ or <c>FixedRange(0, 4095)</c> for 12-bit sensors.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="high"/> ≤ <paramref name="low"/> or outside [0, 65535].</exception>
    public static SixteenBitScaling FixedRange(double low, double high)
    {
        if (low < 0 || high > 65535 || high <= low)
            throw new ArgumentOutOfRangeException(nameof(high), $"FixedRange needs 0 ≤ low < high ≤ 65535; got low={low}, high={high}.");
        return new(SixteenBitScalingMode.FixedRange, low, high);
    }

    /// <summary>
    /// Per image and band, stretches between the <paramref name="lowPercent"/> and
    /// <paramref name="highPercent"/> percentiles (the sample at sorted rank ⌊p/100·(N−1)⌋).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Not 0 ≤ low &lt; high ≤ 100.</exception>
    public static SixteenBitScaling PerBandPercentile(double lowPercent = 2, double highPercent = 98)
    {
        if (lowPercent < 0 || highPercent > 100 || highPercent <= lowPercent)
            throw new ArgumentOutOfRangeException(nameof(highPercent), $"PerBandPercentile needs 0 ≤ low < high ≤ 100; got low={lowPercent}, high={highPercent}.");
        return new(SixteenBitScalingMode.PerBandPercentile, lowPercent, highPercent);
    }

    internal byte[] Apply(ushort[] samples, int channels, int height, int width)
    {
        var plane = height * width;
        var result = new byte[samples.Length];
        for (var c = 0; c < channels; c++)
        {
            var band = new ReadOnlySpan<ushort>(samples, c * plane, plane);
            var (lo, hi) = Mode == SixteenBitScalingMode.FixedRange ? (Low, High) : Percentiles(band, Low, High);
            var output = new Span<byte>(result, c * plane, plane);
            if (hi <= lo) { output.Clear(); continue; }
            var range = hi - lo;
            for (var i = 0; i < plane; i++)
            {
                var v = Math.Clamp(band[i], lo, hi);
                // (v − lo)·255 / range, multiplied before dividing so exact halves stay exact.
                output[i] = (byte)Math.Round((v - lo) * 255.0 / range, MidpointRounding.AwayFromZero);
            }
        }
        return result;
    }

    private static (double Lo, double Hi) Percentiles(ReadOnlySpan<ushort> band, double lowPercent, double highPercent)
    {
        // A 65,536-bin histogram gives exact order statistics without sorting the band.
        var histogram = new int[65536];
        foreach (var v in band) histogram[v]++;
        var n = band.Length;
        return (ValueAtRank(histogram, (long)Math.Floor(lowPercent / 100 * (n - 1))),
                ValueAtRank(histogram, (long)Math.Floor(highPercent / 100 * (n - 1))));
    }

    private static int ValueAtRank(int[] histogram, long rank)
    {
        long seen = 0;
        for (var v = 0; v < histogram.Length; v++)
        {
            seen += histogram[v];
            if (seen > rank) return v;
        }
        return histogram.Length - 1;
    }
}
