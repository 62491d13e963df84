using SpatialNet.Training.Imaging;

namespace SpatialNet.Training.Inference;

/// <summary>How <see cref="SceneMapper"/> reads a scene and lays out the map.</summary>
public sealed record SceneMappingOptions
{
    /// <summary>Zero-based scene bands fed to the model, in order (e.g. <c>[3, 2, 1]</c> for Sentinel-2 B4,B3,B2); null takes the first C.</summary>
    public IReadOnlyList<int>? Bands { get; init; }

    /// <summary>Step between windows in pixels; 0 (default) uses the window size (no overlap).</summary>
    public int Stride { get; init; }

    /// <summary>Edge of one map cell in scene pixels; 0 (default) uses the stride.</summary>
    public int CellSize { get; init; }

    /// <summary>Windows per model call (default 32).</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>
    /// Scene values mapped to 0 and 255 before the model sees them:
    /// <c>round(clamp((v − lo)/(hi − lo), 0, 1)·255)</c>. Null uses the sample type's range
    /// (0–255 for 8-bit, 0–65535 for 16-bit, as <see cref="SixteenBitScaling.FullRange"/>; 0–1 for float).
    /// </summary>
    public (double Low, double High)? InputRange { get; init; }

    /// <summary>No-data value of the scene; null uses the file's GDAL_NODATA (if any).</summary>
    public double? NoData { get; init; }

    /// <summary>Most bytes of decoded strips/tiles kept (default 256 MiB); the mapper asks for less when less suffices.</summary>
    public long MaxCacheBytes { get; init; } = 256L << 20;

    internal void Validate()
    {
        if (Stride < 0) throw new ArgumentOutOfRangeException(nameof(Stride), $"SceneMappingOptions.Stride must be positive (or 0 for the window size); got {Stride}.");
        if (CellSize < 0) throw new ArgumentOutOfRangeException(nameof(CellSize), $"SceneMappingOptions.CellSize must be positive (or 0 for the stride); got {CellSize}.");
        if (BatchSize <= 0) throw new ArgumentOutOfRangeException(nameof(BatchSize), $"SceneMappingOptions.BatchSize must be positive; got {BatchSize}.");
        if (InputRange is { } r && !(r.High > r.Low)) throw new ArgumentOutOfRangeException(nameof(InputRange), $"SceneMappingOptions.InputRange needs High > Low; got [{r.Low}, {r.High}].");
        if (Bands is { Count: 0 }) throw new ArgumentException("SceneMappingOptions.Bands must name at least one band (or be null).", nameof(Bands));
    }
}

/// <summary>Progress of a mapping: windows run or skipped so far, of all.</summary>
public readonly record struct SceneMappingProgress(long WindowsDone, long WindowsTotal, int MapRowsWritten, int MapRows);
