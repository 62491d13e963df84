namespace SpatialNet.Runtime;

/// <summary>Locates the process's libstdc++ and reads which symbol versions it defines.</summary>
internal static class LibStdCxx
{
    /// <summary>
    /// The path of the libstdc++ mapped into this process (the .NET host links it), or <c>null</c>
    /// when none is mapped or the platform has no <c>/proc/self/maps</c>.
    /// </summary>
    public static string? FindLoaded()
    {
        const string maps = "/proc/self/maps";
        if (!File.Exists(maps)) return null;
        foreach (var line in File.ReadLines(maps))
        {
            int slash = line.IndexOf('/', StringComparison.Ordinal);
            if (slash < 0) continue;
            var path = line.Substring(slash).Trim();
            if (Path.GetFileName(path).StartsWith("libstdc++.so", StringComparison.Ordinal) && File.Exists(path))
                return path;
        }
        return null;
    }

    /// <summary>Whether the library at <paramref name="path"/> defines symbol version <paramref name="version"/>.</summary>
    public static bool Defines(string path, string version) =>
        ElfVersionInfo.Read(path).Definitions.Contains(version, StringComparer.Ordinal);
}
