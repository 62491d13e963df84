namespace SpatialNet.Weights;

/// <summary>A checkpoint tensor whose shape differs from the model's and could not be adapted.</summary>
/// <param name="Key">Model (timm-named) key.</param>
/// <param name="Expected">Shape of the model's tensor.</param>
/// <param name="Actual">Shape of the checkpoint's tensor.</param>
public sealed record ShapeMismatch(string Key, long[] Expected, long[] Actual)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Key}: model [{string.Join(", ", Expected)}], checkpoint [{string.Join(", ", Actual)}]";
}

/// <summary>What a weight load did: keys loaded, adapted, missing, unexpected and mismatched.</summary>
/// <param name="Loaded">Model keys that received a checkpoint tensor (adapted ones included).</param>
/// <param name="Adapted">One line per tensor that was resampled or band-adapted, saying how.</param>
/// <param name="Missing">Model keys with no checkpoint tensor (left as they were).</param>
/// <param name="Unexpected">Checkpoint keys the model does not have (ignored).</param>
/// <param name="ShapeMismatches">Keys present in both whose shapes differ and could not be adapted (left as they were).</param>
public sealed record LoadReport(
    IReadOnlyList<string> Loaded,
    IReadOnlyList<string> Adapted,
    IReadOnlyList<string> Missing,
    IReadOnlyList<string> Unexpected,
    IReadOnlyList<ShapeMismatch> ShapeMismatches)
{
    /// <summary>True when every model key was loaded and nothing was left over or mismatched.</summary>
    public bool IsExactMatch => Missing.Count == 0 && Unexpected.Count == 0 && ShapeMismatches.Count == 0;

    /// <inheritdoc/>
    public override string ToString()
    {
        var lines = new List<string> { $"loaded {Loaded.Count}, adapted {Adapted.Count}, missing {Missing.Count}, unexpected {Unexpected.Count}, shape mismatches {ShapeMismatches.Count}" };
        lines.AddRange(Adapted.Select(a => "  adapted: " + a));
        lines.AddRange(Missing.Select(k => "  missing: " + k));
        lines.AddRange(Unexpected.Select(k => "  unexpected: " + k));
        lines.AddRange(ShapeMismatches.Select(m => "  shape mismatch: " + m));
        return string.Join(Environment.NewLine, lines);
    }
}

/// <summary>
/// Thrown by a strict load when the checkpoint does not match the model (shape mismatches, or missing
/// and unexpected keys outside the allowed groups); nothing has been copied into the model.
/// <see cref="Report"/> lists every loaded count and every missing, unexpected and mismatched key.
/// </summary>
public sealed class WeightLoadException : SpatialNetException
{
    /// <summary>Creates the exception for <paramref name="report"/>.</summary>
    public WeightLoadException(string source, LoadReport report)
        : base($"Strict weight load from '{source}' failed; the model was not changed.{Environment.NewLine}{report}")
    {
        Report = report;
    }

    /// <summary>The keys that did not match.</summary>
    public LoadReport Report { get; }
}
