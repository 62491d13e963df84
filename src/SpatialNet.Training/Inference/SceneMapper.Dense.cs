using System.Diagnostics;
using System.Globalization;
using SpatialNet.Training.Imaging;

namespace SpatialNet.Training.Inference;

/// <summary>A model with a per-pixel output: K values for every pixel of a window.</summary>
internal interface IDenseWindowModel
{
    /// <summary>Task name.</summary>
    string Task { get; }

    /// <summary>Bands C of a window.</summary>
    int Channels { get; }

    /// <summary>Window edge S.</summary>
    int WindowSize { get; }

    /// <summary>Names of the K values per pixel (class names, or output names).</summary>
    IReadOnlyList<string> Labels { get; }

    /// <summary>Whether the values are class probabilities (a class map is written) or values in target units.</summary>
    bool IsClassMap { get; }

    /// <summary>Runs <paramref name="count"/> windows <c>[count, C, S, S]</c> on the 8-bit scale; returns <c>[count, K, S, S]</c>.</summary>
    float[] Run(ReadOnlySpan<float> windows, int count);

    /// <summary>The run's input range per band (its <c>input_range</c>), used when the mapping options give none; null: the sample type's.</summary>
    IReadOnlyList<(double Low, double High)>? SceneInputRange => null;
}

/// <summary>What a full-resolution map run wrote and measured.</summary>
/// <param name="Files">The GeoTIFFs written.</param>
/// <param name="Width">Map (= scene) width.</param>
/// <param name="Height">Map (= scene) height.</param>
/// <param name="Windows">Windows run.</param>
/// <param name="ValidPixels">Pixels with a value.</param>
/// <param name="ClassPixels">Pixels per class (class maps), else null.</param>
/// <param name="PeakBlendBytes">Most bytes the pending blended rows held.</param>
/// <param name="Elapsed">Wall time.</param>
internal sealed record DenseMapResult(IReadOnlyList<string> Files, int Width, int Height, long Windows, long ValidPixels,
    IReadOnlyList<long>? ClassPixels, long PeakBlendBytes, TimeSpan Elapsed);

public static partial class SceneMapper
{
    /// <summary>
    /// Maps a scene at full resolution with a per-pixel model: overlapping windows (stride <see cref="SceneMappingOptions.Stride"/>,
    /// default half a window) blended by <see cref="TaperedBlend"/>, written row by row as GeoTIFFs on the scene's grid (its CRS
    /// and geotransform): a uint8 class map with a colour table (255 = no data) and, with <paramref name="probabilities"/>,
    /// <c>{stem}.probabilities.tif</c>; or a float32 map of the values (NaN = no data). Memory holds a window row of
    /// blended rows and the reader's block cache, whatever the scene's height.
    /// </summary>
    internal static DenseMapResult MapDense(IDenseWindowModel model, string scenePath, string outputPath, SceneMappingOptions? options = null,
        bool probabilities = false, IReadOnlyList<(byte R, byte G, byte B)>? classColours = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(scenePath);
        ArgumentNullException.ThrowIfNull(outputPath);
        options ??= new SceneMappingOptions();
        options.Validate();
        var clock = Stopwatch.StartNew();
        using var reader = GeoTiffReader.Open(scenePath);
        int s = model.WindowSize, k = model.Labels.Count;
        var bands = (options.Bands ?? Enumerable.Range(0, model.Channels).ToArray()).ToArray();
        if (bands.Length != model.Channels)
            throw new ArgumentException($"SceneMappingOptions.Bands names {bands.Length} bands; the model takes {model.Channels}.", nameof(options));
        foreach (var b in bands)
            if (b < 0 || b >= reader.BandCount)
                throw new ImageDecodeException(reader.Path, "SamplesPerPixel", $"band {b + 1} (zero-based {b}) was asked for, but the scene has {reader.BandCount} bands.");
        if (reader.Width < s || reader.Height < s)
            throw new ImageDecodeException(reader.Path, "ImageWidth", $"the scene is {reader.Width}×{reader.Height}, smaller than the model's {s}×{s} window.");
        int stride = options.Stride > 0 ? Math.Min(options.Stride, s) : Math.Max(1, s / 2);
        var (low, scale) = InputScale(reader, options, model.SceneInputRange, bands.Length);
        double? noData = options.NoData ?? reader.NoData;
        var blockRows = (s + reader.BlockSize.Height - 1) / reader.BlockSize.Height + 1;
        var blocksAcross = (reader.Width + reader.BlockSize.Width - 1) / reader.BlockSize.Width;
        reader.CacheBytes = Math.Min(options.MaxCacheBytes, (long)blockRows * blocksAcross * (reader.Planar ? bands.Distinct().Count() : 1) * reader.BlockBytes);

        var output = Path.GetFullPath(outputPath);
        var stem = Path.Combine(Path.GetDirectoryName(output)!, Path.GetFileNameWithoutExtension(output));
        GeoReference Reference(string noDataText) =>
            reader.Georeference is { Transform: { } t } g ? g.WithTransform(t, noDataText) : new GeoReference { NoDataText = noDataText };
        var writers = new List<GeoTiffWriter>();
        try
        {
            var task = new WindowTask(model.Task, model.IsClassMap ? SpatialNet.Heads.Dense.SegmentationTaskKind.Kind : SpatialNet.Heads.Dense.PixelRegressionTaskKind.Kind, model.Labels);
            GeoTiffWriter? classes = null, values = null;
            if (model.IsClassMap)
            {
                var colours = new (byte, byte, byte)[256];
                var generated = MappingRun.DefaultPalette(k);
                for (int c = 0; c < 256; c++) colours[c] = classColours is not null && c < classColours.Count ? classColours[c] : generated[c];
                writers.Add(classes = new GeoTiffWriter(output, reader.Width, reader.Height, 1, RasterSampleType.UInt8,
                    Reference(ClassNoData.ToString(CultureInfo.InvariantCulture)), colours, MappingRun.GdalMetadata(task, classMap: true)));
                if (probabilities)
                    writers.Add(values = new GeoTiffWriter(stem + ".probabilities.tif", reader.Width, reader.Height, k, RasterSampleType.Float32,
                        Reference("nan"), null, MappingRun.GdalMetadata(task, classMap: false)));
            }
            else
            {
                writers.Add(values = new GeoTiffWriter(output, reader.Width, reader.Height, k, RasterSampleType.Float32,
                    Reference("nan"), null, MappingRun.GdalMetadata(task, classMap: false)));
            }

            var classRow = new byte[reader.Width];
            var valueRow = new float[reader.Width * k];
            long valid = 0;
            var classPixels = model.IsClassMap ? new long[k] : null;
            void WriteRow(int y, ReadOnlySpan<float> blended)
            {
                int w = reader.Width;
                for (int x = 0; x < w; x++)
                {
                    bool ok = !float.IsNaN(blended[x]);
                    if (ok) valid++;
                    for (int c = 0; c < k; c++) valueRow[x * k + c] = blended[c * w + x];
                    if (classes is not null)
                    {
                        int best = 0;
                        for (int c = 1; c < k; c++)
                            if (blended[c * w + x] > blended[best * w + x]) best = c;
                        classRow[x] = ok ? (byte)best : ClassNoData;
                        if (ok) classPixels![best]++;
                    }
                }
                classes?.WriteRow(classRow);
                values?.WriteRow(valueRow);
            }

            var blend = new TaperedBlend(reader.Width, k, s, s - stride);
            long windows = RunWindows(model, reader.Width, reader.Height, stride, options.BatchSize, blend, WriteRow,
                (x, y, window, mask) =>
                {
                    reader.ReadWindow(x, y, s, s, bands, window);
                    return ToEightBit(window, bands.Length, mask, low, scale, noData);
                },
                y => reader.ReleaseAbove(y), cancellationToken);
            foreach (var writer in writers) writer.Commit();
            return new DenseMapResult([.. writers.Select(w => w.Target)], reader.Width, reader.Height, windows, valid, classPixels, blend.PeakBytes, clock.Elapsed);
        }
        finally
        {
            foreach (var writer in writers) writer.Dispose();
        }
    }

    /// <summary>Reads window (x, y) into a <c>[C, S, S]</c> buffer on the 8-bit scale and marks its valid pixels; false when none is valid.</summary>
    internal delegate bool DenseWindowReader(int x, int y, Span<float> window, Span<bool> valid);

    /// <summary>
    /// The window loop of a full-resolution map: windows in rows (the last flush with the edge), run in batches, blended, and the
    /// rows no later window touches handed to <paramref name="writeRow"/> as <c>[K, width]</c>.
    /// </summary>
    internal static long RunWindows(IDenseWindowModel model, int width, int height, int stride, int batchSize, TaperedBlend blend,
        Action<int, ReadOnlySpan<float>> writeRow, DenseWindowReader read, Action<int>? releaseAbove = null, CancellationToken cancellationToken = default)
    {
        int s = model.WindowSize, plane = s * s, per = model.Channels * plane, k = model.Labels.Count;
        static List<int> Positions(int extent, int window, int step)
        {
            var positions = new List<int>();
            for (var p = 0; p + window <= extent; p += step) positions.Add(p);
            if (positions[^1] + window < extent) positions.Add(extent - window);
            return positions;
        }
        var xs = Positions(width, s, stride);
        var ys = Positions(height, s, stride);
        var batch = new float[(long)batchSize * per];
        var masks = new bool[batchSize][];
        var where = new (int X, int Y)[batchSize];
        int pending = 0;
        long windows = 0;
        void Flush()
        {
            if (pending == 0) return;
            var outputs = model.Run(batch.AsSpan(0, pending * per), pending);
            for (int i = 0; i < pending; i++)
                blend.Add(where[i].X, where[i].Y, outputs.AsSpan(i * k * plane, k * plane), masks[i]);
            windows += pending;
            pending = 0;
        }
        for (int j = 0; j < ys.Count; j++)
        {
            releaseAbove?.Invoke(ys[j]);
            foreach (var x in xs)
            {
                cancellationToken.ThrowIfCancellationRequested();
                masks[pending] ??= new bool[plane];
                if (!read(x, ys[j], batch.AsSpan(pending * per, per), masks[pending])) continue;
                where[pending] = (x, ys[j]);
                if (++pending == batchSize) Flush();
            }
            Flush();
            blend.WriteRows(j + 1 < ys.Count ? ys[j + 1] : height, writeRow);
        }
        return windows;
    }

    /// <summary>
    /// Per band, the scene's input range as low and 255 / (high − low): the option's one range, else the run's
    /// (<paramref name="runRange"/>: one pair or one per band), else the sample type's.
    /// </summary>
    internal static (float[] Low, float[] Scale) InputScale(GeoTiffReader reader, SceneMappingOptions options,
        IReadOnlyList<(double Low, double High)>? runRange, int bands)
    {
        (double Low, double High) byType = reader.SampleType switch
        {
            RasterSampleType.UInt8 => (0, 255),
            RasterSampleType.UInt16 => (0, 65535),
            RasterSampleType.Int8 => (0, 127),
            RasterSampleType.Int16 => (0, 32767),
            RasterSampleType.UInt32 or RasterSampleType.Int32 => (0, 65535),
            _ => (0.0, 1.0),
        };
        IReadOnlyList<(double Low, double High)> ranges = options.InputRange is { } given ? [given] : runRange ?? [byType];
        if (ranges.Count != 1 && ranges.Count != bands)
            throw new ArgumentException($"The input range has {ranges.Count} [low, high] pairs for {bands} bands.", nameof(options));
        var perBand = Enumerable.Range(0, bands).Select(b => ranges[ranges.Count == 1 ? 0 : b]).ToArray();
        return (perBand.Select(r => (float)r.Low).ToArray(), perBand.Select(r => (float)(255.0 / (r.High - r.Low))).ToArray());
    }

    // Marks pixels where some band differs from the no-data value, then scales every sample to 0–255 (clamped, NaN → 0; not rounded: 16-bit detail stays).
    private static bool ToEightBit(Span<float> window, int bands, Span<bool> valid, float[] low, float[] scale, double? noData)
    {
        int plane = valid.Length;
        bool any = false;
        var nd = (float)(noData ?? 0);
        for (int i = 0; i < plane; i++)
        {
            bool ok = noData is null;
            for (int b = 0; b < bands && !ok; b++)
            {
                var v = window[b * plane + i];
                ok = float.IsNaN(nd) ? !float.IsNaN(v) : v != nd;
            }
            valid[i] = ok;
            any |= ok;
        }
        for (int i = 0; i < window.Length; i++)
        {
            int b = i / plane;
            var v = (window[i] - low[b]) * scale[b];
            window[i] = float.IsNaN(v) ? 0 : Math.Clamp(v, 0f, 255f);
        }
        return any;
    }
}
