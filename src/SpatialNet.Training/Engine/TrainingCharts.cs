using SpatialNet.IO;
using ScottPlot;

namespace SpatialNet.Training.Engine;

/// <summary>One line of a chart panel.</summary>
/// <param name="Name">Legend label.</param>
/// <param name="X">X values (epochs; steps sit at fractions of their epoch).</param>
/// <param name="Y">Y values (non-finite points are left out).</param>
/// <param name="Style">How the line is drawn.</param>
internal sealed record ChartSeries(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y, ChartSeriesStyle Style = ChartSeriesStyle.Line);

/// <summary>How a <see cref="ChartSeries"/> is drawn.</summary>
internal enum ChartSeriesStyle
{
    /// <summary>A line with a marker per point (epoch values).</summary>
    Line,

    /// <summary>A thin faint line without markers (raw per-step values).</summary>
    Faint,

    /// <summary>A line without markers (smoothed per-step values).</summary>
    Smooth,
}

/// <summary>One panel (own axes) of a figure.</summary>
/// <param name="Title">Panel title.</param>
/// <param name="Series">Lines.</param>
internal sealed record ChartPanel(string Title, IReadOnlyList<ChartSeries> Series);

/// <summary>One figure (PNG file): panels of one metric family.</summary>
/// <param name="FileName">File name in the output folder.</param>
/// <param name="Title">What the figure shows.</param>
/// <param name="YLabel">The panels' y-axis label.</param>
/// <param name="Panels">Panels, filled row by row.</param>
internal sealed record ChartFigure(string FileName, string Title, string YLabel, IReadOnlyList<ChartPanel> Panels);

/// <summary>
/// Training curves of a <see cref="MetricHistory"/> as PNG figures drawn with ScottPlot, one per metric
/// family, against the epoch (integer ticks): <c>loss_curves.png</c> (per loss term the per-step value,
/// its exponential moving average, the epoch mean and the evaluation loss), <c>score_curves.png</c>
/// (accuracies, F1, mAP; one panel per task), <c>error_curves.png</c> (MAE, RMSE),
/// <c>caption_curves.png</c> (BLEU, METEOR, ROUGE-L, CIDEr) and <c>task_weights.png</c> (only when a
/// loss composer changed the task weights).
/// </summary>
internal static class TrainingCharts
{
    /// <summary>Most points drawn per step series; longer runs are averaged over equal windows.</summary>
    public const int MaxStepPoints = 1000;

    private const string WeightSuffix = "/weight";

    /// <summary>The figures of <paramref name="history"/> (empty families are left out).</summary>
    /// <param name="history">The run's history.</param>
    /// <param name="split">The evaluated split's name, shown in titles and legends (e.g. "val"); null: "evaluation".</param>
    /// <param name="learningRate">The base learning rate: with it, <c>learning_rate.png</c> draws every step's rate (base × schedule factor).</param>
    public static IReadOnlyList<ChartFigure> Figures(MetricHistory history, string? split = null, double? learningRate = null)
    {
        ArgumentNullException.ThrowIfNull(history);
        var figures = new List<ChartFigure>();
        var evaluated = split is null ? "evaluation" : $"evaluation on {split}";
        var losses = LossPanels(history, split);
        if (losses.Count > 0)
            figures.Add(new ChartFigure("loss_curves.png", $"Training loss per term (per step, smoothed, epoch mean) and {evaluated} loss", "loss", losses));
        if (learningRate is double lr && history.Steps.Count > 0)
        {
            var position = StepPositions(history);
            var (x, y) = Downsample([.. history.Steps.Select(s => position(s.Step))], [.. history.Steps.Select(s => s.LearningRateFactor * lr)], MaxStepPoints);
            figures.Add(new ChartFigure("learning_rate.png", "Learning rate per step (warm-up and cosine schedule)", "learning rate",
                [new ChartPanel("learning rate", [new ChartSeries("per step", x, y)])]));
        }
        if (WeightPanel(history) is { } weights)
            figures.Add(new ChartFigure("task_weights.png", "Task weights of the loss composer", "weight", [weights]));
        foreach (var (family, file, title) in new[]
                 {
                     (MetricFamily.Score, "score_curves.png", split is null ? "Evaluation scores (higher is better)" : $"Scores on {split} (higher is better)"),
                     (MetricFamily.Error, "error_curves.png", split is null ? "Evaluation errors (lower is better)" : $"Errors on {split} (lower is better)"),
                     (MetricFamily.Caption, "caption_curves.png", split is null ? "Caption metrics" : $"Caption metrics on {split}"),
                 })
        {
            var panels = MetricPanels(history, family);
            if (panels.Count > 0)
                figures.Add(new ChartFigure(file, title, family == MetricFamily.Error ? "error" : "score", panels));
        }
        return figures;
    }

    /// <summary>Writes every figure into <paramref name="directory"/>; returns the paths written.</summary>
    /// <param name="history">The run's history.</param>
    /// <param name="directory">Output folder.</param>
    /// <param name="panelWidth">Width of one panel in pixels.</param>
    /// <param name="panelHeight">Height of one panel in pixels.</param>
    /// <param name="split">The evaluated split's name for titles and legends, or null.</param>
    /// <param name="learningRate">The base learning rate (adds the learning-rate figure), or null.</param>
    public static IReadOnlyList<string> WriteAll(MetricHistory history, string directory, int panelWidth = 520, int panelHeight = 380,
        string? split = null, double? learningRate = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        var written = new List<string>();
        foreach (var figure in Figures(history, split, learningRate))
        {
            var path = Path.Combine(directory, figure.FileName);
            Write(figure, path, panelWidth, panelHeight);
            written.Add(path);
        }
        return written;
    }

    /// <summary>Renders <paramref name="figure"/> as PNG to <paramref name="path"/>, panels in a grid of at most three columns.</summary>
    public static void Write(ChartFigure figure, string path, int panelWidth = 520, int panelHeight = 380)
    {
        ArgumentNullException.ThrowIfNull(figure);
        int n = figure.Panels.Count;
        if (n == 0)
            throw new ArgumentException($"Figure '{figure.FileName}' has no panels.", nameof(figure));
        int columns = Math.Min(3, Math.Max(1, n));
        int rows = (n + columns - 1) / columns;
        var plots = figure.Panels.Select(p => Plot(p, figure.YLabel)).ToList();
        var multiplot = new Multiplot(plots[0]);   // a new Multiplot holds one plot already: start from the first panel's
        foreach (var plot in plots.Skip(1))
            multiplot.AddPlot(plot);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Grid(rows, columns);
        using var image = multiplot.Render(columns * panelWidth, rows * panelHeight);
        var png = image.GetImageBytes(ImageFormat.Png, 100);
        AtomicFile.Write(path, s => s.Write(png));
    }

    private static readonly Color[] Palette =
    [
        Color.FromHex("#1f77b4"), Color.FromHex("#ff7f0e"), Color.FromHex("#2ca02c"), Color.FromHex("#d62728"),
        Color.FromHex("#9467bd"), Color.FromHex("#8c564b"), Color.FromHex("#e377c2"), Color.FromHex("#7f7f7f"),
    ];

    // Open markers larger than the filled one before them; dashes and dots over a solid line.
    private static readonly (MarkerShape Shape, LinePattern Pattern, float Size)[] Looks =
    [
        (MarkerShape.FilledCircle, LinePattern.Solid, 7), (MarkerShape.OpenSquare, LinePattern.Dashed, 11),
        (MarkerShape.OpenTriangleUp, LinePattern.Dotted, 13), (MarkerShape.OpenDiamond, LinePattern.DenselyDashed, 15),
    ];

    private static Plot Plot(ChartPanel panel, string yLabel)
    {
        var plot = new Plot();
        plot.Title(panel.Title, size: 14);
        plot.XLabel("epoch", size: 12);
        plot.YLabel(panel.Title == Trainer.GradientNormName ? "gradient norm" : yLabel, size: 12);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        int colour = 0, marked = 0;
        foreach (var s in panel.Series)
        {
            var points = s.X.Zip(s.Y).Where(p => double.IsFinite(p.First) && double.IsFinite(p.Second)).ToList();
            if (points.Count == 0)
                continue;
            var line = plot.Add.Scatter(points.Select(p => p.First).ToArray(), points.Select(p => p.Second).ToArray());
            line.LegendText = s.Name;
            switch (s.Style)
            {
                case ChartSeriesStyle.Faint:
                    line.Color = Palette[colour % Palette.Length].WithAlpha(0.25);
                    line.LineWidth = 1;
                    line.MarkerSize = 0;
                    break;
                case ChartSeriesStyle.Smooth:
                    line.Color = Palette[colour % Palette.Length];
                    line.LineWidth = 2;
                    line.MarkerSize = 0;
                    colour++;
                    break;
                default:
                    // Equal curves (two task weights, say) must not hide each other: each marker shape
                    // and dash leaves the one drawn before it visible.
                    var (shape, pattern, size) = Looks[marked++ % Looks.Length];
                    line.Color = Palette[colour % Palette.Length];
                    line.LineWidth = 2;
                    line.MarkerShape = shape;
                    line.MarkerSize = size;
                    line.LinePattern = pattern;
                    colour++;
                    break;
            }
        }
        if (panel.Series.Count > 1)
        {
            plot.ShowLegend(Edge.Bottom);   // beside the axes, never over the lines
            plot.Legend.FontSize = 11;
        }
        var x = panel.Series.SelectMany(s => s.X).Where(double.IsFinite).DefaultIfEmpty(1).ToList();
        plot.Axes.SetLimitsX(Math.Min(0, x.Min()), Math.Max(1, x.Max()) + 0.1);
        if (yLabel == "score")
            plot.Axes.SetLimitsY(0, Math.Max(1.02, panel.Series.SelectMany(s => s.Y).Where(double.IsFinite).DefaultIfEmpty(1).Max() * 1.02));
        return plot;
    }

    /// <summary>
    /// One panel per loss term (total first, then the tasks', the L2 term and the gradient norm): the
    /// per-step values (faint), their exponential moving average, the epoch means and, where the
    /// evaluation reports the same term, the evaluation loss.
    /// </summary>
    public static IReadOnlyList<ChartPanel> LossPanels(MetricHistory history, string? split = null)
    {
        ArgumentNullException.ThrowIfNull(history);
        var names = new List<string>();
        void Add(string k)
        {
            if (!k.EndsWith(WeightSuffix, StringComparison.Ordinal) && !names.Contains(k))
                names.Add(k);
        }
        foreach (var s in history.Steps)
            foreach (var k in s.Losses.Keys)
                Add(k);
        foreach (var e in history.Epochs)
            foreach (var k in e.Train.Keys)
                Add(k);
        var position = StepPositions(history);
        var panels = new List<ChartPanel>();
        foreach (var name in names)
        {
            // Gradient norms live beside the losses of a step; their epoch means sit with the losses.
            var steps = history.Steps
                .Select(s => (s.Step, Value: s.Losses.TryGetValue(name, out var v) ? v : name == Trainer.GradientNormName ? s.GradientNorm : null))
                .Where(s => s.Value is not null && double.IsFinite(s.Value.Value)).ToList();
            var (x, y) = Downsample([.. steps.Select(s => position(s.Step))], [.. steps.Select(s => s.Value!.Value)], MaxStepPoints);
            var series = new List<ChartSeries>();
            if (x.Length > 0)
            {
                series.Add(new ChartSeries("per step", x, y, ChartSeriesStyle.Faint));
                series.Add(new ChartSeries("smoothed", x, Smooth(y), ChartSeriesStyle.Smooth));
            }
            var epochs = history.Epochs.Where(e => e.Train.ContainsKey(name)).ToList();
            if (epochs.Count > 0)
                series.Add(new ChartSeries("epoch mean", [.. epochs.Select(e => (double)e.Epoch)], [.. epochs.Select(e => e.Train[name])]));
            var evaluated = history.Epochs.Where(e => e.Metrics.ContainsKey(name)).ToList();
            if (evaluated.Count > 0)
                series.Add(new ChartSeries(split ?? "evaluation", [.. evaluated.Select(e => (double)e.Epoch)], [.. evaluated.Select(e => e.Metrics[name])]));
            if (series.Count > 0)
                panels.Add(new ChartPanel(name, series));
        }
        return panels;
    }

    /// <summary>The task weights (<c>task/weight</c> training terms) in one panel, or null when none changed during the run.</summary>
    public static ChartPanel? WeightPanel(MetricHistory history)
    {
        ArgumentNullException.ThrowIfNull(history);
        var names = history.Epochs.SelectMany(e => e.Train.Keys).Where(k => k.EndsWith(WeightSuffix, StringComparison.Ordinal)).Distinct().ToList();
        var series = new List<ChartSeries>();
        bool changed = false;
        foreach (var name in names)
        {
            var epochs = history.Epochs.Where(e => e.Train.ContainsKey(name)).ToList();
            var values = epochs.Select(e => e.Train[name]).ToList();
            changed |= values.Count > 1 && values.Max() - values.Min() > 1e-9 * Math.Max(1, Math.Abs(values.Max()));
            series.Add(new ChartSeries(name[..^WeightSuffix.Length], [.. epochs.Select(e => (double)e.Epoch)], values));
        }
        return changed ? new ChartPanel("task weights (epoch mean)", series) : null;
    }

    /// <summary>The metric families that get a figure each.</summary>
    public enum MetricFamily
    {
        /// <summary>Accuracy, F1, mAP: in [0, 1], higher is better.</summary>
        Score,

        /// <summary>MAE, RMSE: lower is better, in the target's unit.</summary>
        Error,

        /// <summary>BLEU-n, METEOR, ROUGE-L, CIDEr (CIDEr exceeds 1).</summary>
        Caption,
    }

    /// <summary>The family of an evaluation metric (by its name after the task prefix); null for losses.</summary>
    public static MetricFamily? FamilyOf(string metric)
    {
        ArgumentNullException.ThrowIfNull(metric);
        var name = metric[(metric.LastIndexOf('/') + 1)..].ToLowerInvariant();
        if (name == "loss" || name.EndsWith("_loss", StringComparison.Ordinal))
            return null;
        if (name.StartsWith("bleu", StringComparison.Ordinal) || name.StartsWith("meteor", StringComparison.Ordinal)
            || name.StartsWith("rouge", StringComparison.Ordinal) || name.StartsWith("cider", StringComparison.Ordinal))
            return MetricFamily.Caption;
        if (name is "mae" or "rmse" or "mse" || name.EndsWith("_mae", StringComparison.Ordinal) || name.EndsWith("_mse", StringComparison.Ordinal)
            || name.EndsWith("error", StringComparison.Ordinal))
            return MetricFamily.Error;
        return MetricFamily.Score;
    }

    /// <summary>One panel per task (the part before '/') with that task's metrics of <paramref name="family"/>, against the epoch.</summary>
    public static IReadOnlyList<ChartPanel> MetricPanels(MetricHistory history, MetricFamily family)
    {
        ArgumentNullException.ThrowIfNull(history);
        var names = history.Epochs.SelectMany(e => e.Metrics.Keys).Distinct().Where(k => FamilyOf(k) == family).ToList();
        return [.. names.GroupBy(k => k.Contains('/', StringComparison.Ordinal) ? k[..k.LastIndexOf('/')] : "all tasks")
            .Select(g => new ChartPanel(g.Key, [.. g.Select(name =>
            {
                var epochs = history.Epochs.Where(e => e.Metrics.ContainsKey(name)).ToList();
                return new ChartSeries(name[(name.LastIndexOf('/') + 1)..], [.. epochs.Select(e => (double)e.Epoch)], [.. epochs.Select(e => e.Metrics[name])]);
            })]))];
    }

    /// <summary>
    /// Where a step sits on the epoch axis: step s of epoch e (ending at global step G_e) at
    /// e − 1 + (s − G_{e−1}) / (G_e − G_{e−1}); steps after the last finished epoch continue at its length.
    /// </summary>
    private static Func<long, double> StepPositions(MetricHistory history)
    {
        var ends = history.Epochs.OrderBy(e => e.Epoch).Select(e => (e.Epoch, e.GlobalStep)).ToList();
        long fallback = history.Steps.Count > 0 ? Math.Max(1, history.Steps.Max(s => s.Step)) : 1;
        return step =>
        {
            long start = 0;
            int epoch = 0;
            foreach (var (e, end) in ends)
            {
                if (step <= end && end > start)
                    return e - 1 + (double)(step - start) / (end - start);
                epoch = e;
                start = end;
            }
            long length = ends.Count > 0 ? Math.Max(1, ends[^1].GlobalStep - (ends.Count > 1 ? ends[^2].GlobalStep : 0)) : fallback;
            return epoch + (double)(step - start) / length;
        };
    }

    // Exponential moving average, bias-corrected as Adam's moments (β = 0.9: about ten points of memory).
    private static double[] Smooth(double[] y, double beta = 0.9)
    {
        var smoothed = new double[y.Length];
        double m = 0, correction = 1;
        for (int i = 0; i < y.Length; i++)
        {
            m = beta * m + (1 - beta) * y[i];
            correction *= beta;
            smoothed[i] = m / (1 - correction);
        }
        return smoothed;
    }

    private static (double[] X, double[] Y) Downsample(List<double> x, List<double> y, int max)
    {
        if (x.Count <= max)
            return ([.. x], [.. y]);
        var xs = new double[max];
        var ys = new double[max];
        for (int i = 0; i < max; i++)
        {
            int from = (int)((long)i * x.Count / max), to = (int)((long)(i + 1) * x.Count / max);
            double sx = 0, sy = 0;
            for (int j = from; j < to; j++)
            {
                sx += x[j];
                sy += y[j];
            }
            xs[i] = sx / (to - from);
            ys[i] = sy / (to - from);
        }
        return (xs, ys);
    }
}
