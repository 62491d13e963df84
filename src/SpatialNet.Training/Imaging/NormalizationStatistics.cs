using SpatialNet.IO;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SpatialNet.Training.Imaging;

/// <summary>
/// Per-band mean and standard deviation of a dataset's 8-bit images, in units of the [0, 1] range
/// the <see cref="Transforms.Normalize"/> transform works in (value/255). The standard deviation is
/// the population one (divisor N, like torchvision's usual recipe); sums are exact integers.
/// </summary>
public sealed class NormalizationStatistics
{
    /// <summary>Creates statistics from known values (e.g. published ones).</summary>
    /// <exception cref="ArgumentException">The lists differ in length, are empty, or a std is not positive.</exception>
    [JsonConstructor]
    public NormalizationStatistics(IReadOnlyList<double> mean, IReadOnlyList<double> std, long pixelCount = 0)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        if (mean.Count == 0 || mean.Count != std.Count)
            throw new ArgumentException($"Mean and std need one value per band and the same length; got {mean.Count} and {std.Count}.");
        if (std.Any(s => !(s > 0)))
            throw new ArgumentException($"Every std must be positive; got [{string.Join(", ", std)}].", nameof(std));
        Mean = mean.ToArray();
        Std = std.ToArray();
        PixelCount = pixelCount;
    }

    /// <summary>Per-band mean, in [0, 1] units.</summary>
    [JsonPropertyName("mean")] public IReadOnlyList<double> Mean { get; }

    /// <summary>Per-band population standard deviation, in [0, 1] units.</summary>
    [JsonPropertyName("std")] public IReadOnlyList<double> Std { get; }

    /// <summary>Pixels per band the statistics were computed from (0 when given by hand).</summary>
    [JsonPropertyName("pixel_count")] public long PixelCount { get; }

    /// <summary>Computes the statistics over 8-bit images that all have the same band count.
    /// A band that is constant everywhere gets std 1/255 (one grey level) instead of 0.</summary>
    /// <exception cref="ArgumentException">No images, a 16-bit image, or band counts differ.</exception>
    public static NormalizationStatistics Compute(IEnumerable<RasterImage> images)
    {
        ArgumentNullException.ThrowIfNull(images);
        long[]? sum = null;
        Int128[]? sumSquares = null;
        long n = 0;
        foreach (var image in images)
        {
            var pixels = image.Pixels8 ?? throw new ArgumentException("Statistics are computed on 8-bit images; convert with ToUInt8 first.", nameof(images));
            sum ??= new long[image.Channels];
            sumSquares ??= new Int128[image.Channels];
            if (image.Channels != sum.Length)
                throw new ArgumentException($"All images must have the same band count; found {sum.Length} and {image.Channels}.", nameof(images));
            var plane = image.Height * image.Width;
            for (var c = 0; c < image.Channels; c++)
            {
                long s = 0, q = 0;
                foreach (var v in pixels.AsSpan(c * plane, plane)) { s += v; q += v * v; }
                sum[c] += s;
                sumSquares[c] += q;
            }
            n += plane;
        }
        if (sum is null || n == 0) throw new ArgumentException("No images to compute statistics from.", nameof(images));
        var mean = new double[sum.Length];
        var std = new double[sum.Length];
        for (var c = 0; c < sum.Length; c++)
        {
            mean[c] = (double)sum[c] / n / 255.0;
            // Var = (N·Σv² − (Σv)²) / N², exact in integers before the one division.
            var numerator = n * sumSquares![c] - (Int128)sum[c] * sum[c];
            var variance = (double)numerator / ((double)n * n);
            std[c] = variance > 0 ? Math.Sqrt(variance) / 255.0 : 1.0 / 255.0;
        }
        return new NormalizationStatistics(mean, std, n);
    }

    /// <summary>Writes the statistics as JSON (<c>{"mean":[..],"std":[..],"pixel_count":N}</c>).</summary>
    public void Save(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        AtomicFile.WriteAllText(path, JsonSerializer.Serialize(this, JsonOptions));
    }

    /// <summary>Reads statistics written by <see cref="Save"/>.</summary>
    /// <exception cref="DatasetFileNotFoundException">The file does not exist.</exception>
    /// <exception cref="DatasetFormatException">The file is not valid statistics JSON.</exception>
    public static NormalizationStatistics Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new DatasetFileNotFoundException(path, null, "normalisation statistics file not found.");
        try
        {
            return JsonSerializer.Deserialize<NormalizationStatistics>(File.ReadAllText(path), JsonOptions)
                ?? throw new DatasetFormatException(path, null, "the file holds JSON null.");
        }
        catch (JsonException ex)
        {
            throw new DatasetFormatException(path, ex.Path ?? "mean", $"malformed JSON: {ex.Message}", ex);
        }
        catch (ArgumentException ex)
        {
            throw new DatasetFormatException(path, "std", ex.Message, ex);
        }
    }

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };
}
