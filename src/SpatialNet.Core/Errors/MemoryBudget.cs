using System.Globalization;

namespace SpatialNet;

/// <summary>Refuses sizes that cannot fit before anything is allocated (estimate against the machine's memory).</summary>
internal static class MemoryBudget
{
    /// <summary>
    /// Memory a process may use: the physical memory or the container's limit, as the .NET runtime
    /// reports it (<see cref="GCMemoryInfo.TotalAvailableMemoryBytes"/>).
    /// </summary>
    public static long AvailableBytes => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;

    /// <summary>
    /// Memory free for new allocations: <c>MemAvailable</c> of /proc/meminfo where readable, at most
    /// <see cref="AvailableBytes"/> (a container's limit); elsewhere <see cref="AvailableBytes"/>.
    /// </summary>
    public static long FreeBytes
    {
        get
        {
            long limit = AvailableBytes;
            try
            {
                foreach (var line in File.ReadLines("/proc/meminfo"))
                {
                    if (!line.StartsWith("MemAvailable:", StringComparison.Ordinal))
                        continue;
                    var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    if (parts.Length >= 2 && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var kib))
                        return Math.Min(limit, kib * 1024);
                }
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
            return limit;
        }
    }

    /// <summary>
    /// Values per token and channel that one encoder block keeps for the backward pass: 34 bytes at 16
    /// bits in Korthikanti et al. 2022, "Reducing Activation Recomputation in Large Transformer Models",
    /// Eq. 1, leaving out the attention-score term (fused attention does not keep the scores).
    /// </summary>
    public const double ActivationValuesPerBlock = 17;

    /// <summary>
    /// Training memory of a ViT encoder for a batch of <paramref name="batch"/> images: activations
    /// batch × tokens × EmbedDim × Depth × <see cref="ActivationValuesPerBlock"/> × <paramref name="valueBytes"/>,
    /// and parameters with gradients and AdamW's two moments (4 × 4 bytes each, plus a 16-bit weight
    /// and gradient copy under mixed precision).
    /// </summary>
    public static (double Activations, double Parameters) TrainingBytes(Modules.VisionTransformerOptions o, double batch, int valueBytes)
    {
        ArgumentNullException.ThrowIfNull(o);
        double tokens = (double)(o.ImageHeight / Math.Max(1, o.PatchSize)) * (o.ImageWidth / Math.Max(1, o.PatchSize)) + (o.ClassToken ? 1 : 0);
        double activations = batch * tokens * o.EmbedDim * o.Depth * ActivationValuesPerBlock * valueBytes;
        double parameters = VisionTransformerParameters(o) * (16 + (valueBytes < sizeof(float) ? 2 * valueBytes : 0));
        return (activations, parameters);
    }

    /// <summary>Throws <see cref="ResourceLimitException"/> when <paramref name="bytes"/> exceed <see cref="AvailableBytes"/>.</summary>
    /// <param name="bytes">The estimate (a double, so that products of large options cannot overflow).</param>
    /// <param name="option">The option(s) that determine the size, as the user writes them.</param>
    /// <param name="what">What would be allocated, e.g. "the encoder's float32 parameters".</param>
    public static void EnsureFits(double bytes, string option, string what)
    {
        long available = AvailableBytes;
        if (bytes > available)
            throw new ResourceLimitException(option,
                $"{option}: {what} would need about {Format(bytes)}, more than the {Format(available)} of memory this machine has; choose a smaller value.");
    }

    /// <summary>
    /// Parameter count of a Vision Transformer with <paramref name="o"/> (timm's layout: patch projection,
    /// class token, position embedding, per block two LayerNorms, qkv, projection and the two MLP layers,
    /// final norm, classifier), as a double so that it cannot overflow.
    /// </summary>
    public static double VisionTransformerParameters(Modules.VisionTransformerOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        double d = o.EmbedDim, h = (double)o.EmbedDim * o.MlpRatio, p = o.PatchSize;
        double tokens = (double)(o.ImageHeight / Math.Max(1, o.PatchSize)) * (o.ImageWidth / Math.Max(1, o.PatchSize)) + (o.ClassToken ? 1 : 0);
        double block = 4 * d + (3 * d * d + 3 * d) + (d * d + d) + (d * h + h) + (h * d + d) + (o.LayerScaleInit is null ? 0 : 2 * d);
        return o.InChannels * p * p * d + d + (o.ClassToken ? d : 0) + tokens * d + o.Depth * block + 2 * d + o.NumClasses * (d + 1);
    }

    /// <summary>A byte count in the largest fitting binary unit ("1.9 TiB").</summary>
    public static string Format(double bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
        int u = 0;
        while (bytes >= 1024 && u < units.Length - 1) { bytes /= 1024; u++; }
        return bytes.ToString(u == 0 ? "F0" : "F1", CultureInfo.InvariantCulture) + " " + units[u];
    }
}
