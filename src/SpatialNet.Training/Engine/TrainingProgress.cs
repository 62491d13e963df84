using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace SpatialNet.Training.Engine;

/// <summary>Where a running training is, for progress displays.</summary>
/// <param name="Epoch">1-based current epoch.</param>
/// <param name="Epochs">Configured epochs.</param>
/// <param name="BatchInEpoch">Batches of the current epoch done.</param>
/// <param name="BatchesPerEpoch">Batches per epoch.</param>
/// <param name="GlobalStep">Optimizer steps done.</param>
/// <param name="TotalSteps">Steps of the whole run.</param>
/// <param name="StepsPerSecond">Throughput of this run so far.</param>
/// <param name="Eta">Estimated time to the end of the run.</param>
/// <param name="Losses">Latest step's losses.</param>
public sealed record ProgressSnapshot(int Epoch, int Epochs, int BatchInEpoch, int BatchesPerEpoch, long GlobalStep, long TotalSteps,
    double StepsPerSecond, TimeSpan? Eta, IReadOnlyDictionary<string, double> Losses);

/// <summary>Receives progress of a training run.</summary>
public interface ITrainingProgress
{
    /// <summary>Called after losses were read back (every <see cref="TrainerOptions.LossSyncInterval"/> steps).</summary>
    void OnStep(ProgressSnapshot snapshot);

    /// <summary>Called after each epoch's evaluation.</summary>
    void OnEpochEnd(EpochRecord record, int epochs);

    /// <summary>Called when training stops.</summary>
    void OnCompleted();
}

/// <summary>
/// A single console line, redrawn in place at most a few times a second: epoch, step, step/s, ETA
/// and the latest losses; one summary line per epoch. Disabled when output is redirected (logs and
/// CI stay clean) unless forced.
/// </summary>
public sealed class ConsoleProgressDisplay : ITrainingProgress
{
    private readonly TextWriter _writer;
    private readonly Stopwatch _sinceDraw = new();
    private readonly TimeSpan _minInterval;
    private int _lastLength;

    /// <summary>Creates the display.</summary>
    /// <param name="writer">Where to write; default <see cref="Console.Out"/>.</param>
    /// <param name="enabled">Force on or off; default: on unless the console output is redirected.</param>
    /// <param name="minRedrawInterval">Shortest time between redraws; default 250 ms.</param>
    public ConsoleProgressDisplay(TextWriter? writer = null, bool? enabled = null, TimeSpan? minRedrawInterval = null)
    {
        _writer = writer ?? Console.Out;
        Enabled = enabled ?? !Console.IsOutputRedirected;
        _minInterval = minRedrawInterval ?? TimeSpan.FromMilliseconds(250);
    }

    /// <summary>Whether anything is written.</summary>
    public bool Enabled { get; }

    /// <inheritdoc />
    public void OnStep(ProgressSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        if (!Enabled || (_sinceDraw.IsRunning && _sinceDraw.Elapsed < _minInterval && snapshot.BatchInEpoch != snapshot.BatchesPerEpoch))
            return;
        _sinceDraw.Restart();
        var line = Format(snapshot);
        _writer.Write('\r' + line.PadRight(_lastLength));
        _lastLength = line.Length;
        _writer.Flush();
    }

    /// <inheritdoc />
    public void OnEpochEnd(EpochRecord record, int epochs)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (!Enabled)
            return;
        var sb = new StringBuilder(FormattableString.Invariant($"epoch {record.Epoch}/{epochs} done in {FormatTime(TimeSpan.FromSeconds(record.ElapsedSeconds))} total"));
        foreach (var (k, v) in record.Train)
            sb.Append(CultureInfo.InvariantCulture, $"  train_{k} {v:G4}");
        foreach (var (k, v) in record.Metrics)
            sb.Append(CultureInfo.InvariantCulture, $"  {k} {v:G4}");
        _writer.Write('\r' + sb.ToString().PadRight(_lastLength) + Environment.NewLine);
        _lastLength = 0;
        _writer.Flush();
    }

    /// <inheritdoc />
    public void OnCompleted()
    {
        if (Enabled && _lastLength > 0)
        {
            _writer.WriteLine();
            _lastLength = 0;
        }
    }

    /// <summary>The progress line for <paramref name="s"/>.</summary>
    public static string Format(ProgressSnapshot s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"epoch {s.Epoch}/{s.Epochs}  step {s.BatchInEpoch}/{s.BatchesPerEpoch}");
        if (s.TotalSteps > 0)
            sb.Append(CultureInfo.InvariantCulture, $" ({100.0 * s.GlobalStep / s.TotalSteps:F1}%)");
        sb.Append(CultureInfo.InvariantCulture, $"  {s.StepsPerSecond:F2} step/s  ETA {(s.Eta is TimeSpan eta ? FormatTime(eta) : "--:--")}");
        foreach (var (k, v) in s.Losses)
            sb.Append(CultureInfo.InvariantCulture, $"  {k} {v:G4}");
        return sb.ToString();
    }

    private static string FormatTime(TimeSpan t) =>
        t.TotalHours >= 1
            ? FormattableString.Invariant($"{(int)t.TotalHours}:{t.Minutes:D2}:{t.Seconds:D2}")
            : FormattableString.Invariant($"{t.Minutes:D2}:{t.Seconds:D2}");
}

/// <summary>A progress sink that ignores everything.</summary>
public sealed class NullTrainingProgress : ITrainingProgress
{
    /// <summary>The shared instance.</summary>
    public static NullTrainingProgress Instance { get; } = new();

    /// <inheritdoc />
    public void OnStep(ProgressSnapshot snapshot)
    {
    }

    /// <inheritdoc />
    public void OnEpochEnd(EpochRecord record, int epochs)
    {
    }

    /// <inheritdoc />
    public void OnCompleted()
    {
    }
}
