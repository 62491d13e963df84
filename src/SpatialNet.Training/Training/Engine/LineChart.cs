using SpatialNet.IO;
using System.Globalization;
using SkiaSharp;
using SpatialNet.Training.Checkpoints;

namespace SpatialNet.Training.Engine;

/// <summary>One line of a chart panel.</summary>
/// <param name="Name">Legend label.</param>
/// <param name="X">X values.</param>
/// <param name="Y">Y values (non-finite points are skipped).</param>
internal sealed record ChartSeries(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y);

/// <summary>One panel (own axes) of a chart.</summary>
/// <param name="Title">Panel title.</param>
/// <param name="XLabel">X-axis label.</param>
/// <param name="Series">Lines.</param>
internal sealed record ChartPanel(string Title, string XLabel, IReadOnlyList<ChartSeries> Series);

/// <summary>
/// Draws small-multiple line charts (a grid of panels, each with its own y range, so tasks with
/// different loss scales stay readable) and encodes them as PNG with SkiaSharp. Text needs a system
/// font; without one the lines, axes and ticks are still drawn.
/// </summary>
internal static class LineChart
{
    private static readonly SKColor[] Palette =
    [
        new(0x1f, 0x77, 0xb4), new(0xff, 0x7f, 0x0e), new(0x2c, 0xa0, 0x2c), new(0xd6, 0x27, 0x28),
        new(0x94, 0x67, 0xbd), new(0x8c, 0x56, 0x4b), new(0xe3, 0x77, 0xc2), new(0x7f, 0x7f, 0x7f),
    ];

    /// <summary>Renders <paramref name="panels"/> in a grid and returns the PNG bytes.</summary>
    /// <param name="panels">Panels, filled row by row.</param>
    /// <param name="width">Image width in pixels (≥ 64).</param>
    /// <param name="height">Image height in pixels (≥ 64).</param>
    /// <param name="columns">Grid columns; default ⌈√n⌉.</param>
    public static byte[] RenderPng(IReadOnlyList<ChartPanel> panels, int width, int height, int? columns = null)
    {
        ArgumentNullException.ThrowIfNull(panels);
        if (width < 64 || height < 64)
            throw new ArgumentOutOfRangeException(nameof(width), $"{width}x{height}: both sides must be >= 64 pixels.");
        int n = Math.Max(1, panels.Count);
        int cols = Math.Clamp(columns ?? (int)Math.Ceiling(Math.Sqrt(n)), 1, n);
        int rows = (n + cols - 1) / cols;

        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(SKColors.White);
            float cellW = width / (float)cols, cellH = height / (float)rows;
            for (int i = 0; i < panels.Count; i++)
                DrawPanel(canvas, panels[i], new SKRect((i % cols) * cellW, (i / cols) * cellH, (i % cols + 1) * cellW, (i / cols + 1) * cellH));
        }
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Png, 100)
            ?? throw new InvalidOperationException("SkiaSharp could not encode the chart as PNG.");
        return data.ToArray();
    }

    /// <summary>Renders and writes the PNG atomically.</summary>
    public static void WritePng(string path, IReadOnlyList<ChartPanel> panels, int width, int height, int? columns = null)
    {
        var png = RenderPng(panels, width, height, columns);
        AtomicFile.Write(path, s => s.Write(png));
    }

    private static void DrawPanel(SKCanvas canvas, ChartPanel panel, SKRect cell)
    {
        using var text = new SKPaint { Color = SKColors.Black, IsAntialias = true, TextSize = 12 };
        using var small = new SKPaint { Color = new SKColor(0x44, 0x44, 0x44), IsAntialias = true, TextSize = 10 };
        using var axis = new SKPaint { Color = SKColors.Black, StrokeWidth = 1, IsStroke = true };
        using var grid = new SKPaint { Color = new SKColor(0xe5, 0xe5, 0xe5), StrokeWidth = 1, IsStroke = true };

        var plot = new SKRect(cell.Left + 58, cell.Top + 26, cell.Right - 14, cell.Bottom - 38);
        if (plot.Width < 10 || plot.Height < 10)
            return;
        canvas.DrawText(panel.Title, plot.Left, cell.Top + 17, text);
        canvas.DrawText(panel.XLabel, plot.MidX - small.MeasureText(panel.XLabel) / 2, cell.Bottom - 6, small);

        var points = panel.Series.SelectMany(s => s.X.Zip(s.Y)).Where(p => double.IsFinite(p.First) && double.IsFinite(p.Second)).ToList();
        if (points.Count == 0)
        {
            canvas.DrawRect(plot, axis);
            canvas.DrawText("no data", plot.MidX - 20, plot.MidY, small);
            return;
        }
        var (xMin, xMax) = Range(points.Select(p => p.First));
        var (yMin, yMax) = Range(points.Select(p => p.Second));
        float MapX(double x) => plot.Left + (float)((x - xMin) / (xMax - xMin)) * plot.Width;
        float MapY(double y) => plot.Bottom - (float)((y - yMin) / (yMax - yMin)) * plot.Height;

        foreach (var t in Ticks(yMin, yMax))
        {
            float y = MapY(t);
            canvas.DrawLine(plot.Left, y, plot.Right, y, grid);
            var label = t.ToString("G4", CultureInfo.InvariantCulture);
            canvas.DrawText(label, plot.Left - 6 - small.MeasureText(label), y + 4, small);
        }
        foreach (var t in Ticks(xMin, xMax))
        {
            float x = MapX(t);
            canvas.DrawLine(x, plot.Top, x, plot.Bottom, grid);
            var label = t.ToString("G6", CultureInfo.InvariantCulture);
            canvas.DrawText(label, x - small.MeasureText(label) / 2, plot.Bottom + 14, small);
        }
        canvas.DrawRect(plot, axis);

        canvas.Save();
        canvas.ClipRect(plot);
        for (int s = 0; s < panel.Series.Count; s++)
        {
            var series = panel.Series[s];
            using var line = new SKPaint { Color = Palette[s % Palette.Length], StrokeWidth = 1.5f, IsStroke = true, IsAntialias = true };
            using var path = new SKPath();
            bool open = false;
            int count = Math.Min(series.X.Count, series.Y.Count);
            for (int i = 0; i < count; i++)
            {
                double x = series.X[i], y = series.Y[i];
                if (!double.IsFinite(x) || !double.IsFinite(y))
                {
                    open = false;
                    continue;
                }
                if (open)
                    path.LineTo(MapX(x), MapY(y));
                else
                    path.MoveTo(MapX(x), MapY(y));
                open = true;
            }
            canvas.DrawPath(path, line);
            if (count == 1 && double.IsFinite(series.X[0]) && double.IsFinite(series.Y[0]))
                canvas.DrawCircle(MapX(series.X[0]), MapY(series.Y[0]), 2.5f, line);
        }
        canvas.Restore();

        if (panel.Series.Count > 1)
        {
            float ly = plot.Top + 14;
            foreach (var (series, i) in panel.Series.Select((s, i) => (s, i)))
            {
                float w = small.MeasureText(series.Name);
                using var swatch = new SKPaint { Color = Palette[i % Palette.Length], StrokeWidth = 2, IsStroke = true };
                canvas.DrawLine(plot.Right - w - 28, ly - 4, plot.Right - w - 12, ly - 4, swatch);
                canvas.DrawText(series.Name, plot.Right - w - 6, ly, small);
                ly += 13;
            }
        }
    }

    private static (double Min, double Max) Range(IEnumerable<double> values)
    {
        double min = double.PositiveInfinity, max = double.NegativeInfinity;
        foreach (var v in values)
        {
            min = Math.Min(min, v);
            max = Math.Max(max, v);
        }
        if (max - min < 1e-12 * Math.Max(1, Math.Abs(max)))
        {
            double pad = Math.Max(Math.Abs(max) * 0.1, 1e-3);
            return (min - pad, max + pad);
        }
        double margin = (max - min) * 0.04;
        return (min - margin, max + margin);
    }

    /// <summary>About five round tick values (1, 2 or 5 × 10ᵏ apart) inside [min, max].</summary>
    private static IEnumerable<double> Ticks(double min, double max)
    {
        double raw = (max - min) / 5;
        double magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double step = (raw / magnitude) switch { < 1.5 => 1, < 3.5 => 2, < 7.5 => 5, _ => 10 } * magnitude;
        for (double t = Math.Ceiling(min / step) * step; t <= max + step * 1e-9; t += step)
            yield return Math.Abs(t) < step * 1e-9 ? 0 : t;
    }
}
