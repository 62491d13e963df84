using System.Text.Json.Serialization;

namespace SpatialNet.Training.Inference;

/// <summary>What <see cref="SceneMapper.Map"/> wrote.</summary>
/// <param name="Files">Every GeoTIFF written, the summary JSON last.</param>
/// <param name="Summary">The summary (also written as JSON).</param>
/// <param name="ReadTime">Time spent reading, decoding and preparing windows.</param>
/// <param name="ModelTime">Time spent in the model.</param>
public sealed record SceneMapResult(IReadOnlyList<string> Files, SceneSummary Summary, TimeSpan ReadTime, TimeSpan ModelTime);

/// <summary>The JSON summary of a map.</summary>
public sealed record SceneSummary
{
    /// <summary>The scene file.</summary>
    [JsonPropertyName("scene")] public required string Scene { get; init; }
    /// <summary>Scene width in pixels.</summary>
    [JsonPropertyName("scene_width")] public int SceneWidth { get; init; }
    /// <summary>Scene height in pixels.</summary>
    [JsonPropertyName("scene_height")] public int SceneHeight { get; init; }
    /// <summary>One-based scene bands fed to the model, in order.</summary>
    [JsonPropertyName("bands")] public required IReadOnlyList<int> Bands { get; init; }
    /// <summary>Window edge in pixels.</summary>
    [JsonPropertyName("window")] public int Window { get; init; }
    /// <summary>Step between windows in pixels.</summary>
    [JsonPropertyName("stride")] public int Stride { get; init; }
    /// <summary>Map cell edge in scene pixels.</summary>
    [JsonPropertyName("cell_size")] public int CellSize { get; init; }
    /// <summary>Map width in cells.</summary>
    [JsonPropertyName("map_width")] public int MapWidth { get; init; }
    /// <summary>Map height in cells.</summary>
    [JsonPropertyName("map_height")] public int MapHeight { get; init; }
    /// <summary>Windows the model ran on.</summary>
    [JsonPropertyName("windows_run")] public long WindowsRun { get; init; }
    /// <summary>Windows skipped because every pixel was no-data.</summary>
    [JsonPropertyName("windows_skipped_no_data")] public long WindowsSkipped { get; init; }
    /// <summary>Area of one scene pixel in map units² (null without a geotransform).</summary>
    [JsonPropertyName("pixel_area")] public double? PixelArea { get; init; }
    /// <summary>Scene pixels in valid map cells.</summary>
    [JsonPropertyName("valid_pixels")] public long ValidPixels { get; init; }
    /// <summary>Scene pixels in no-data map cells.</summary>
    [JsonPropertyName("no_data_pixels")] public long NoDataPixels { get; init; }
    /// <summary>One entry per mapped task.</summary>
    [JsonPropertyName("tasks")] public required IReadOnlyList<SceneTaskSummary> Tasks { get; init; }
}

/// <summary>One task's part of a <see cref="SceneSummary"/>.</summary>
public sealed record SceneTaskSummary
{
    /// <summary>Task name.</summary>
    [JsonPropertyName("task")] public required string Task { get; init; }
    /// <summary>Task kind.</summary>
    [JsonPropertyName("kind")] public required string Kind { get; init; }
    /// <summary>Files holding this task's maps.</summary>
    [JsonPropertyName("files")] public required IReadOnlyList<string> Files { get; init; }
    /// <summary>Classification: per class, scene pixels of cells of that class and their area.</summary>
    [JsonPropertyName("classes")] public IReadOnlyList<SceneClassArea>? Classes { get; init; }
    /// <summary>Regression: per output, the mean over valid cells and the total (value per window × windows' worth of area); null for class and label probabilities, which do not add up.</summary>
    [JsonPropertyName("values")] public IReadOnlyList<SceneValueTotal>? Values { get; init; }
}

/// <summary>Pixels and area mapped to one class.</summary>
public sealed record SceneClassArea(
    [property: JsonPropertyName("class")] string Class,
    [property: JsonPropertyName("pixels")] long Pixels,
    [property: JsonPropertyName("area")] double? Area,
    [property: JsonPropertyName("fraction")] double Fraction);

/// <summary>Mean and total of one regression output (or label probability) over the valid map.</summary>
public sealed record SceneValueTotal(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("mean")] double Mean,
    [property: JsonPropertyName("total")] double Total);
