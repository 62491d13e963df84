using System.Diagnostics;
using System.Globalization;
using SpatialNet.Training.Engine;
using Spectre.Console;

namespace SpatialNet.Cli.Output;

/// <summary>
/// Training progress on standard error: on a terminal a progress bar per epoch (as wide as the
/// terminal) above one compact table row per epoch; when redirected, plain lines (the first progress line,
/// then one every 30 s, and the same rows). Log lines pass through <see cref="WriteLog"/> so they print above the bar.
/// </summary>
internal sealed class TrainingDisplay : ITrainingProgress
{
    private static readonly TimeSpan PlainInterval = TimeSpan.FromSeconds(30);
    private readonly IAnsiConsole _console;
    private readonly TextWriter _writer;
    private readonly bool _live;
    private readonly Stopwatch _sincePlain = new();
    private readonly Lock _gate = new();
    private ProgressContext? _context;
    private ProgressTask? _task;
    private int _taskEpoch;
    private List<Column>? _columns;

    internal sealed record Column(string Header, int Width, Func<EpochRecord, int, double?> Value, bool IsEpoch = false);

    /// <summary>Creates the display on <paramref name="writer"/> (standard error); <paramref name="enabled"/> false prints logs only.</summary>
    public TrainingDisplay(TextWriter writer, bool enabled)
    {
        _writer = writer;
        _console = Consoles.Create(writer);
        Enabled = enabled;
        _live = enabled && Consoles.IsLive(_console);
    }

    /// <summary>Whether progress and epoch rows are shown (the trainer's own epoch log line is then left out).</summary>
    public bool Enabled { get; }

    /// <summary>Runs <paramref name="body"/> under the live progress bar (or as is when there is none).</summary>
    public T Run<T>(Func<T> body)
    {
        if (!_live) return body();
        return new Progress(_console)
            .AutoClear(true)
            .HideCompleted(true)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                _context = ctx;
                try { return body(); }
                finally { _context = null; }
            });
    }

    /// <summary>Writes a log line (above the progress bar when there is one).</summary>
    public void WriteLog(string line)
    {
        lock (_gate)
        {
            if (_context is not null)
                _console.WriteLine(line, Style.Plain);   // above the live bar
            else
                _writer.WriteLine(line);                 // as is: no wrapping at a guessed width
        }
    }

    /// <inheritdoc />
    public void OnStep(ProgressSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        if (!Enabled) return;
        var loss = snapshot.Losses.TryGetValue(TrainingLosses.TotalLossName, out var l) ? FormattableString.Invariant($"  loss {l:G4}") : "";
        if (_context is { } ctx)
        {
            if (_task is null || _taskEpoch != snapshot.Epoch)
            {
                _task?.StopTask();
                _task = ctx.AddTask($"epoch {snapshot.Epoch}/{snapshot.Epochs}", maxValue: snapshot.BatchesPerEpoch);
                _taskEpoch = snapshot.Epoch;
            }
            _task.Value = snapshot.BatchInEpoch;
            _task.Description = Markup.Escape(FormattableString.Invariant($"epoch {snapshot.Epoch}/{snapshot.Epochs}{loss}  {snapshot.StepsPerSecond:F1} step/s"));
            return;
        }
        if (_sincePlain.IsRunning && _sincePlain.Elapsed < PlainInterval) return;   // the first, then one every 30 s
        _sincePlain.Restart();
        var eta = snapshot.Eta is TimeSpan t ? FormatTime(t) : "--:--";
        WriteLog(FormattableString.Invariant(
            $"epoch {snapshot.Epoch}/{snapshot.Epochs}  step {snapshot.BatchInEpoch}/{snapshot.BatchesPerEpoch}  {snapshot.StepsPerSecond:F2} step/s  ETA {eta}{loss}"));
    }

    /// <inheritdoc />
    public void OnEpochEnd(EpochRecord record, int epochs)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (!Enabled) return;
        if (_task is not null)
        {
            _task.Value = _task.MaxValue;   // steps are reported every few steps: the last redraw showed less than 100 %
            _task.StopTask();
        }
        if (_columns is null)
        {
            _columns = Columns(record);
            WriteLog(string.Join("  ", _columns.Select(c => c.IsEpoch ? c.Header.PadRight(c.Width) : c.Header.PadLeft(c.Width))));
        }
        WriteLog(Row(_columns, record, epochs));
    }

    /// <inheritdoc />
    public void OnCompleted() => _task?.StopTask();

    /// <summary>
    /// The row's columns, fixed at the first epoch: epoch, elapsed time, mean training loss, the
    /// evaluation loss, and each task's first (primary) metric.
    /// </summary>
    internal static List<Column> Columns(EpochRecord first)
    {
        var columns = new List<Column>
        {
            new("epoch", 7, (_, _) => null, IsEpoch: true),
            new("time", 8, (_, _) => null),
            new("train loss", 10, (r, _) => r.Train.TryGetValue(TrainingLosses.TotalLossName, out var v) ? v : null),
        };
        if (first.Metrics.ContainsKey(TrainingLosses.TotalLossName))
            columns.Add(new("val loss", 10, (r, _) => r.Metrics.TryGetValue(TrainingLosses.TotalLossName, out var v) ? v : null));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var key in first.Metrics.Keys)
        {
            int slash = key.IndexOf('/', StringComparison.Ordinal);
            if (slash <= 0 || key.EndsWith("/loss", StringComparison.Ordinal) || !seen.Add(key[..slash]))
                continue;
            var name = key;
            columns.Add(new(name, Math.Max(name.Length, 8), (r, _) => r.Metrics.TryGetValue(name, out var v) ? v : null));
        }
        return columns;
    }

    internal static string Row(IReadOnlyList<Column> columns, EpochRecord record, int epochs)
    {
        var cells = columns.Select(c =>
        {
            if (c.IsEpoch) return FormattableString.Invariant($"{record.Epoch}/{epochs}").PadRight(c.Width);
            if (c.Header == "time") return FormatTime(TimeSpan.FromSeconds(record.ElapsedSeconds)).PadLeft(c.Width);
            var v = c.Value(record, epochs);
            return (v is double d ? d.ToString("G4", CultureInfo.InvariantCulture) : "-").PadLeft(c.Width);
        });
        return string.Join("  ", cells);
    }

    private static string FormatTime(TimeSpan t) =>
        t.TotalHours >= 1
            ? FormattableString.Invariant($"{(int)t.TotalHours}:{t.Minutes:D2}:{t.Seconds:D2}")
            : FormattableString.Invariant($"{t.Minutes:D2}:{t.Seconds:D2}");
}
