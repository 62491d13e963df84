using SpatialNet.IO;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SpatialNet.Training.Engine;

/// <summary>Losses of one optimizer step.</summary>
public sealed class StepRecord
{
    /// <summary>Global step number, 1-based (the step that produced these values).</summary>
    public long Step { get; init; }

    /// <summary>1-based epoch the step belongs to.</summary>
    public int Epoch { get; init; }

    /// <summary>Learning-rate factor applied to the base rates at this step.</summary>
    public double LearningRateFactor { get; init; }

    /// <summary>Loss values: <c>loss</c> (the total) and every named term.</summary>
    public Dictionary<string, double> Losses { get; init; } = new(StringComparer.Ordinal);

    /// <summary>Global gradient norm before clipping, when clipping is on.</summary>
    public double? GradientNorm { get; init; }
}

/// <summary>Summary of one epoch.</summary>
public sealed class EpochRecord
{
    /// <summary>1-based epoch number.</summary>
    public int Epoch { get; init; }

    /// <summary>Global step at the end of the epoch.</summary>
    public long GlobalStep { get; init; }

    /// <summary>Learning-rate factor of the epoch's last step.</summary>
    public double LearningRateFactor { get; init; }

    /// <summary>Wall-clock seconds of training up to the end of the epoch (summed across resumed runs).</summary>
    public double ElapsedSeconds { get; init; }

    /// <summary>Mean training losses of the epoch (<c>loss</c> and every term).</summary>
    public Dictionary<string, double> Train { get; init; } = new(StringComparer.Ordinal);

    /// <summary>Evaluation metrics of the epoch.</summary>
    public Dictionary<string, double> Metrics { get; init; } = new(StringComparer.Ordinal);
}

/// <summary>
/// Per-step losses and per-epoch summaries of a run, written as JSON (everything), CSV (one row per
/// epoch, <c>train_</c>-prefixed loss columns then metric columns) and a per-step CSV.
/// </summary>
public sealed class MetricHistory
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Per-step records in step order.</summary>
    public List<StepRecord> Steps { get; init; } = [];

    /// <summary>Per-epoch records in epoch order.</summary>
    public List<EpochRecord> Epochs { get; init; } = [];

    /// <summary>The history as indented JSON: <c>{"steps": [...], "epochs": [...]}</c>.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Parses JSON written by <see cref="ToJson"/>.</summary>
    /// <exception cref="InvalidDataException">Malformed JSON.</exception>
    public static MetricHistory FromJson(string json)
    {
        try
        {
            return JsonSerializer.Deserialize<MetricHistory>(json, Json) ?? new MetricHistory();
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"Metric history JSON is malformed: {e.Message}", e);
        }
    }

    /// <summary>
    /// One row per epoch: <c>epoch,global_step,lr_factor,elapsed_seconds</c>, then <c>train_&lt;name&gt;</c>
    /// for every training loss and then every metric, in order of first appearance. Numbers use the
    /// invariant culture and round-trip precision; missing values are empty.
    /// </summary>
    public string ToEpochCsv()
    {
        var trainCols = Columns(Epochs.Select(e => e.Train));
        var metricCols = Columns(Epochs.Select(e => e.Metrics));
        var sb = new StringBuilder();
        sb.Append("epoch,global_step,lr_factor,elapsed_seconds");
        foreach (var c in trainCols)
            sb.Append(",train_").Append(Escape(c));
        foreach (var c in metricCols)
            sb.Append(',').Append(Escape(c));
        sb.Append('\n');
        foreach (var e in Epochs)
        {
            sb.Append(e.Epoch.ToString(CultureInfo.InvariantCulture)).Append(',')
              .Append(e.GlobalStep.ToString(CultureInfo.InvariantCulture)).Append(',')
              .Append(Format(e.LearningRateFactor)).Append(',')
              .Append(Format(e.ElapsedSeconds));
            foreach (var c in trainCols)
                sb.Append(',').Append(e.Train.TryGetValue(c, out var v) ? Format(v) : "");
            foreach (var c in metricCols)
                sb.Append(',').Append(e.Metrics.TryGetValue(c, out var v) ? Format(v) : "");
            sb.Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>One row per step: <c>step,epoch,lr_factor,grad_norm</c>, then every loss name.</summary>
    public string ToStepCsv()
    {
        var cols = Columns(Steps.Select(s => s.Losses));
        var sb = new StringBuilder("step,epoch,lr_factor,grad_norm");
        foreach (var c in cols)
            sb.Append(',').Append(Escape(c));
        sb.Append('\n');
        foreach (var s in Steps)
        {
            sb.Append(s.Step.ToString(CultureInfo.InvariantCulture)).Append(',')
              .Append(s.Epoch.ToString(CultureInfo.InvariantCulture)).Append(',')
              .Append(Format(s.LearningRateFactor)).Append(',')
              .Append(s.GradientNorm is double g ? Format(g) : "");
            foreach (var c in cols)
                sb.Append(',').Append(s.Losses.TryGetValue(c, out var v) ? Format(v) : "");
            sb.Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>
    /// Writes <c>history.json</c>, <c>history.csv</c> (epochs) and <c>steps.csv</c> into
    /// <paramref name="directory"/>, each atomically.
    /// </summary>
    public void Save(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        AtomicFile.WriteAllText(Path.Combine(directory, "history.json"), ToJson());
        AtomicFile.WriteAllText(Path.Combine(directory, "history.csv"), ToEpochCsv());
        AtomicFile.WriteAllText(Path.Combine(directory, "steps.csv"), ToStepCsv());
    }

    private static List<string> Columns(IEnumerable<Dictionary<string, double>> rows)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var list = new List<string>();
        foreach (var row in rows)
        {
            foreach (var key in row.Keys)
            {
                if (seen.Add(key))
                    list.Add(key);
            }
        }
        return list;
    }

    private static string Format(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    private static string Escape(string s) =>
        s.AsSpan().IndexOfAny(",\"\n\r") >= 0 ? "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : s;
}
