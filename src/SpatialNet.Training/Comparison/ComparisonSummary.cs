using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using ScottPlot;
using SpatialNet.IO;
using SpatialNet.Training.Engine;

namespace SpatialNet.Training.Comparison;

/// <summary>A mean and sample standard deviation over seeds (0 for one seed).</summary>
/// <param name="Mean">The mean.</param>
/// <param name="Std">The sample standard deviation (n − 1).</param>
/// <param name="Count">How many values.</param>
internal readonly record struct MeanStd(double Mean, double Std, int Count)
{
    /// <summary>The mean and sample standard deviation of <paramref name="values"/>.</summary>
    public static MeanStd Of(IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0)
            return new MeanStd(double.NaN, double.NaN, 0);
        double mean = values.Average();
        double std = values.Count > 1 ? Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1)) : 0;
        return new MeanStd(mean, std, values.Count);
    }

    /// <summary><c>mean ± std</c> with <paramref name="format"/>.</summary>
    public string ToString(string format) =>
        Mean.ToString(format, CultureInfo.InvariantCulture) + " ± " + Std.ToString(format, CultureInfo.InvariantCulture);
}

/// <summary>One group of a comparison (a composer, or one task alone) over its seeds.</summary>
/// <param name="Group">The composer's name, or <c>single:TASK</c>.</param>
/// <param name="Metrics">Task → its primary metric over seeds (only the trained tasks).</param>
/// <param name="DeltaM">Δm% against the single-task runs over seeds; null for single-task groups or without them.</param>
/// <param name="StepSeconds">Training seconds per step over seeds.</param>
/// <param name="PeakMemoryMiB">Peak resident memory over seeds, MiB.</param>
internal sealed record ComparisonGroup(string Group, IReadOnlyDictionary<string, MeanStd> Metrics, MeanStd? DeltaM,
    MeanStd StepSeconds, MeanStd PeakMemoryMiB);

/// <summary>
/// The comparison's table: per group, each task's primary metric (mean ± std over seeds), Δm%, step
/// time and memory. Δm (Maninis et al. 2019) = (100/T)·Σ_t (−1)^{l_t}·(M_t − S_t)/S_t, l_t = 1 when
/// lower is better, S_t the single-task mean over seeds; computed per seed, then averaged.
/// </summary>
internal sealed class ComparisonSummary
{
    private ComparisonSummary(IReadOnlyList<string> tasks, IReadOnlyDictionary<string, string> metricNames,
        IReadOnlyList<ComparisonGroup> groups, IReadOnlyList<ComparisonRun> runs)
    {
        Tasks = tasks;
        MetricNames = metricNames;
        Groups = groups;
        Runs = runs;
    }

    /// <summary>The tasks, in configuration order.</summary>
    public IReadOnlyList<string> Tasks { get; }

    /// <summary>Task → the metric compared (its primary metric).</summary>
    public IReadOnlyDictionary<string, string> MetricNames { get; }

    /// <summary>Composer groups in the order asked, then the single-task groups.</summary>
    public IReadOnlyList<ComparisonGroup> Groups { get; }

    /// <summary>Every run.</summary>
    public IReadOnlyList<ComparisonRun> Runs { get; }

    /// <summary>
    /// Δm% of one multi-task result against single-task references: the mean over tasks of
    /// (−1)^{lower is better}·(M_t − S_t)/S_t, times 100. Tasks without a reference are left out; none: NaN.
    /// </summary>
    public static double DeltaM(IReadOnlyDictionary<string, double> multiTask, IReadOnlyDictionary<string, double> singleTask,
        IReadOnlyDictionary<string, string> metricNames)
    {
        ArgumentNullException.ThrowIfNull(multiTask);
        ArgumentNullException.ThrowIfNull(singleTask);
        ArgumentNullException.ThrowIfNull(metricNames);
        var terms = new List<double>();
        foreach (var (task, m) in multiTask)
        {
            if (!singleTask.TryGetValue(task, out var s) || s == 0 || !double.IsFinite(s) || !double.IsFinite(m))
                continue;
            double sign = MetricModes.Of(metricNames[task]) == MetricMode.Min ? -1 : 1;
            terms.Add(sign * (m - s) / s);
        }

        return terms.Count == 0 ? double.NaN : 100 * terms.Average();
    }

    internal static ComparisonSummary From(IReadOnlyList<ComparisonRun> runs, IReadOnlyList<string> composers, IReadOnlyList<string> tasks)
    {
        var metricNames = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var run in runs)
        {
            foreach (var (task, name) in run.MetricNames)
                metricNames.TryAdd(task, name);
        }

        var single = tasks.Where(t => runs.Any(r => r.Key.Task == t))
            .ToDictionary(t => t, t => runs.Where(r => r.Key.Task == t).Select(r => r.Metrics[t]).Average(), StringComparer.Ordinal);
        var groups = new List<ComparisonGroup>();
        foreach (var group in composers.Concat(tasks.Where(single.ContainsKey).Select(t => "single:" + t)))
        {
            var members = runs.Where(r => r.Key.Group == group).OrderBy(r => r.Key.Seed).ToList();
            var metrics = tasks.Where(t => members.Count > 0 && members[0].Metrics.ContainsKey(t))
                .ToDictionary(t => t, t => MeanStd.Of(members.Select(r => r.Metrics[t]).ToList()), StringComparer.Ordinal);
            MeanStd? delta = group.StartsWith("single:", StringComparison.Ordinal) || single.Count == 0
                ? null
                : MeanStd.Of(members.Select(r => DeltaM(r.Metrics, single, metricNames)).ToList());
            groups.Add(new ComparisonGroup(group, metrics, delta,
                MeanStd.Of(members.Select(r => r.StepSeconds).ToList()), MeanStd.Of(members.Select(r => r.PeakMemoryMiB).ToList())));
        }

        return new ComparisonSummary(tasks, metricNames, groups, runs);
    }

    /// <summary>Writes <c>compare.json</c>, <c>compare.md</c> and <c>compare.png</c> into <paramref name="folder"/>.</summary>
    public void Write(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        AtomicFile.WriteAllText(Path.Combine(folder, "compare.json"), ToJson().ToJsonString(new() { WriteIndented = true }));
        AtomicFile.WriteAllText(Path.Combine(folder, "compare.md"), ToMarkdown());
        WriteChart(Path.Combine(folder, "compare.png"));
    }

    /// <summary>The summary as JSON: tasks with their metric, groups with mean/std, and every run.</summary>
    public JsonObject ToJson()
    {
        static JsonObject Stat(MeanStd s) => new() { ["mean"] = Finite(s.Mean), ["std"] = Finite(s.Std), ["seeds"] = s.Count };
        static JsonNode? Finite(double v) => double.IsFinite(v) ? v : null;
        var groups = new JsonArray();
        foreach (var g in Groups)
        {
            var metrics = new JsonObject();
            foreach (var (task, s) in g.Metrics)
                metrics[task] = Stat(s);
            groups.Add(new JsonObject
            {
                ["group"] = g.Group,
                ["metrics"] = metrics,
                ["delta_m_percent"] = g.DeltaM is { } d ? Stat(d) : null,
                ["step_seconds"] = Stat(g.StepSeconds),
                ["peak_memory_mib"] = Stat(g.PeakMemoryMiB),
            });
        }

        var runs = new JsonArray();
        foreach (var r in Runs)
        {
            var metrics = new JsonObject();
            foreach (var (task, v) in r.Metrics)
                metrics[task] = Finite(v);
            runs.Add(new JsonObject
            {
                ["group"] = r.Key.Group, ["seed"] = r.Key.Seed, ["metrics"] = metrics,
                ["step_seconds"] = r.StepSeconds, ["peak_memory_mib"] = r.PeakMemoryMiB,
            });
        }

        var tasks = new JsonObject();
        foreach (var t in Tasks)
            tasks[t] = MetricNames.TryGetValue(t, out var m) ? m : null;
        return new JsonObject { ["tasks"] = tasks, ["groups"] = groups, ["runs"] = runs };
    }

    /// <summary>The table as Markdown: one row per group, step time relative to <c>weighted_sum</c> when it was run.</summary>
    public string ToMarkdown()
    {
        var text = new StringBuilder();
        var reference = Groups.FirstOrDefault(g => g.Group == "weighted_sum");
        text.Append("| composer | ");
        foreach (var t in Tasks)
            text.Append(CultureInfo.InvariantCulture, $"{t} {MetricNames.GetValueOrDefault(t, "?")} {(MetricModes.Of(MetricNames.GetValueOrDefault(t, "")) == MetricMode.Min ? "↓" : "↑")} | ");
        text.AppendLine("Δm% ↑ | s/step | peak MiB |");
        text.Append("| --- |").Append(string.Concat(Enumerable.Repeat(" ---: |", Tasks.Count + 3))).AppendLine();
        foreach (var g in Groups)
        {
            text.Append(CultureInfo.InvariantCulture, $"| {g.Group} | ");
            foreach (var t in Tasks)
                text.Append(g.Metrics.TryGetValue(t, out var s) ? s.ToString("F3") : "").Append(" | ");
            text.Append(g.DeltaM is { } d ? d.ToString("F2") : "—").Append(" | ");
            text.Append(g.StepSeconds.Mean.ToString("F4", CultureInfo.InvariantCulture));
            if (reference is not null && reference != g && reference.StepSeconds.Mean > 0)
                text.Append(CultureInfo.InvariantCulture, $" (×{g.StepSeconds.Mean / reference.StepSeconds.Mean:F2})");
            text.AppendLine(CultureInfo.InvariantCulture, $" | {g.PeakMemoryMiB.Mean:F0} |");
        }

        int seeds = Runs.Select(r => r.Key.Seed).Distinct().Count();
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture,
            $"Mean ± sample standard deviation over {seeds} seed(s) of each task's primary metric on the evaluated split; Δm% against the single-task runs (mean over tasks of ±(M − S)/S, sign + where higher is better); s/step: training wall-clock seconds per optimizer step (validation included); peak MiB: the process's resident memory while the run trained (sampled).");
        return text.ToString();
    }

    private void WriteChart(string path)
    {
        var plots = new List<Plot>();
        var groups = Groups;
        foreach (var task in Tasks)
        {
            var plot = new Plot();
            plot.Title(task + " " + MetricNames.GetValueOrDefault(task, ""), size: 14);
            var shown = groups.Where(g => g.Metrics.ContainsKey(task)).ToList();
            // Horizontal bars, first group on top: group names read as they are, however many.
            var bars = shown.Select((g, i) => new Bar
            {
                Position = shown.Count - 1 - i,
                Value = g.Metrics[task].Mean,
                Error = g.Metrics[task].Std,
                FillColor = g.Group.StartsWith("single:", StringComparison.Ordinal) ? Colors.Gray : Colors.SteelBlue,
                Orientation = Orientation.Horizontal,
            }).ToArray();
            plot.Add.Bars(bars);
            plot.Axes.Left.SetTicks(bars.Select(b => b.Position).ToArray(),
                shown.Select(g => g.Group.StartsWith("single:", StringComparison.Ordinal) ? "single task" : g.Group).ToArray());
            plot.Axes.Margins(left: 0);
            plots.Add(plot);
        }

        if (plots.Count == 0)
            return;
        int columns = Math.Min(3, plots.Count);
        int rows = (plots.Count + columns - 1) / columns;
        var multiplot = new Multiplot(plots[0]);
        foreach (var plot in plots.Skip(1))
            multiplot.AddPlot(plot);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Grid(rows, columns);
        using var image = multiplot.Render(columns * 480, rows * Math.Max(300, 60 + 32 * Groups.Count));
        var png = image.GetImageBytes(ImageFormat.Png, 100);
        AtomicFile.Write(path, s => s.Write(png));
    }
}
