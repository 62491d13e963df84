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

    /// <summary>A byte count in the largest fitting binary unit ("1.9 TiB").</summary>
    public static string Format(double bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
        int u = 0;
        while (bytes >= 1024 && u < units.Length - 1) { bytes /= 1024; u++; }
        return bytes.ToString(u == 0 ? "F0" : "F1", CultureInfo.InvariantCulture) + " " + units[u];
    }
}
