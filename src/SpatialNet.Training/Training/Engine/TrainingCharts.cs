namespace SpatialNet.Training.Engine;

/// <summary>Loss and metric curves of a <see cref="MetricHistory"/> as PNG.</summary>
internal static class TrainingCharts
{
    /// <summary>Most points drawn per step series; longer runs are averaged over equal windows.</summary>
    public const int MaxStepPoints = 1000;

    /// <summary>
    /// One panel per loss name (total first): the per-step values (window-averaged to at most
    /// <see cref="MaxStepPoints"/> points) and the epoch means, against the global step.
    /// </summary>
    public static IReadOnlyList<ChartPanel> LossPanels(MetricHistory history)
    {
        ArgumentNullException.ThrowIfNull(history);
        var names = new List<string>();
        foreach (var s in history.Steps)
            foreach (var k in s.Losses.Keys)
                if (!names.Contains(k))
                    names.Add(k);
        foreach (var e in history.Epochs)
            foreach (var k in e.Train.Keys)
                if (!names.Contains(k))
                    names.Add(k);
        var panels = new List<ChartPanel>();
        foreach (var name in names)
        {
            // Gradient norms live beside the losses of a step; their epoch means sit with the losses.
            var steps = history.Steps
                .Select(s => (s.Step, Value: s.Losses.TryGetValue(name, out var v) ? v : name == Trainer.GradientNormName ? s.GradientNorm : null))
                .Where(s => s.Value is not null).ToList();
            var (x, y) = Downsample(steps.Select(s => (double)s.Step).ToList(), steps.Select(s => s.Value!.Value).ToList(), MaxStepPoints);
            var epochs = history.Epochs.Where(e => e.Train.ContainsKey(name)).ToList();
            var series = new List<ChartSeries> { new("per step", x, y) };
            if (epochs.Count > 0)
                series.Add(new ChartSeries("epoch mean", [.. epochs.Select(e => (double)e.GlobalStep)], [.. epochs.Select(e => e.Train[name])]));
            panels.Add(new ChartPanel(name, "step", series));
        }
        return panels;
    }

    /// <summary>One panel per evaluation metric, against the epoch.</summary>
    public static IReadOnlyList<ChartPanel> MetricPanels(MetricHistory history)
    {
        ArgumentNullException.ThrowIfNull(history);
        var names = new List<string>();
        foreach (var e in history.Epochs)
            foreach (var k in e.Metrics.Keys)
                if (!names.Contains(k))
                    names.Add(k);
        return [.. names.Select(name =>
        {
            var epochs = history.Epochs.Where(e => e.Metrics.ContainsKey(name)).ToList();
            return new ChartPanel(name, "epoch", [new ChartSeries(name, [.. epochs.Select(e => (double)e.Epoch)], [.. epochs.Select(e => e.Metrics[name])])]);
        })];
    }

    /// <summary>Writes the loss curves; returns false (and writes nothing) when there are no losses yet.</summary>
    public static bool WriteLossCurves(MetricHistory history, string path, int width = 1200, int height = 800)
    {
        var panels = LossPanels(history);
        if (panels.Count == 0)
            return false;
        LineChart.WritePng(path, panels, width, height);
        return true;
    }

    /// <summary>Writes the metric curves; returns false (and writes nothing) when there are no metrics.</summary>
    public static bool WriteMetricCurves(MetricHistory history, string path, int width = 1200, int height = 800)
    {
        var panels = MetricPanels(history);
        if (panels.Count == 0)
            return false;
        LineChart.WritePng(path, panels, width, height);
        return true;
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
