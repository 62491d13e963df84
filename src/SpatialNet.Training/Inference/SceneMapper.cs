using SpatialNet.IO;
using System.Globalization;
using System.Security;
using System.Text;
using System.Text.Json;
using SpatialNet.Heads;
using SpatialNet.Training.Imaging;

namespace SpatialNet.Training.Inference;

/// <summary>
/// Maps a whole GeoTIFF scene with a window model: windows of the model's input size slide over the
/// scene with a stride, in batches; each window's outputs are averaged into the map cells it covers
/// (cells of <see cref="SceneMappingOptions.CellSize"/> scene pixels). Writes, with the scene's CRS
/// and a geotransform of the same origin and cell-sized pixels: a uint8 class map per
/// classification task (colour table, class names in the metadata), float32 probabilities per
/// classification/multi-label task, float32 maps per regression task, and a JSON summary. Cells with
/// no valid scene pixel are no-data. Memory is bounded independently of the scene (docs/scene-mapping.md).
/// </summary>
public static partial class SceneMapper
{
    /// <summary>No-data value of class maps (colour-table entry 255).</summary>
    public const byte ClassNoData = 255;

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>Maps <paramref name="scenePath"/> into <paramref name="outputPath"/> and its companions (see remarks).</summary>
    /// <remarks>
    /// Files: <c>output</c> holds the first task's main product (class map for classification,
    /// probabilities for multi-label, values for regression); every other product is
    /// <c>{stem}.{task}.tif</c> (class map, values) or <c>{stem}.{task}.probabilities.tif</c>; the summary
    /// is <c>{stem}.summary.json</c>. Every file is written under a temporary name and renamed when complete.
    /// </remarks>
    /// <exception cref="SpatialNet.DatasetFileNotFoundException">The scene does not exist.</exception>
    /// <exception cref="ImageDecodeException">The scene is unreadable, has too few bands, or is smaller than a window.</exception>
    public static SceneMapResult Map(IWindowModel model, string scenePath, string outputPath, SceneMappingOptions? options = null,
        IProgress<SceneMappingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(scenePath);
        ArgumentNullException.ThrowIfNull(outputPath);
        options ??= new SceneMappingOptions();
        options.Validate();
        using var reader = GeoTiffReader.Open(scenePath);
        var run = new MappingRun(model, reader, outputPath, options, progress, cancellationToken);
        return run.Execute();
    }

    private sealed class MappingRun
    {
        private readonly IWindowModel _model;
        private readonly GeoTiffReader _reader;
        private readonly string _output;
        private readonly SceneMappingOptions _options;
        private readonly IProgress<SceneMappingProgress>? _progress;
        private readonly CancellationToken _cancel;
        private readonly int[] _bands;
        private readonly int _window, _stride, _cell, _cols, _rows, _values;
        private readonly int[] _offsets;
        private readonly float[] _low, _scale;
        private readonly double? _noData;
        private readonly Dictionary<int, CellRow> _pending = [];
        private readonly float[] _batch;
        private readonly (int X, int Y, bool[] Valid)[] _batchWindows;
        private int _batchCount;
        private long _windowsDone, _windowsRun, _windowsSkipped;
        private int _rowsWritten;
        private long _validPixels;
        private long[][] _classPixels = [];
        private double[][] _valueSums = [];
        private double[][] _valueTotals = [];
        private long _validCells;
        private readonly List<Product> _products = [];
        private readonly System.Diagnostics.Stopwatch _readTime = new(), _modelTime = new();

        public MappingRun(IWindowModel model, GeoTiffReader reader, string output, SceneMappingOptions options,
            IProgress<SceneMappingProgress>? progress, CancellationToken cancel)
        {
            _model = model;
            _reader = reader;
            _output = Path.GetFullPath(output);
            _options = options;
            _progress = progress;
            _cancel = cancel;
            _window = model.WindowSize;
            _bands = (options.Bands ?? model.SceneBands ?? Enumerable.Range(0, model.Channels).ToArray()).ToArray();
            if (_bands.Length != model.Channels)
                throw new ArgumentException($"SceneMappingOptions.Bands names {_bands.Length} bands; the model takes {model.Channels}.", nameof(options));
            foreach (var b in _bands)
                if (b < 0 || b >= reader.BandCount)
                    throw new ImageDecodeException(reader.Path, "SamplesPerPixel", $"band {b + 1} (zero-based {b}) was asked for, but the scene has {reader.BandCount} bands.");
            if (reader.Width < _window || reader.Height < _window)
                throw new ImageDecodeException(reader.Path, "ImageWidth", $"the scene is {reader.Width}×{reader.Height}, smaller than the model's {_window}×{_window} window.");
            _stride = options.Stride > 0 ? options.Stride : _window;
            _cell = options.CellSize > 0 ? options.CellSize : _stride;
            _cols = (reader.Width + _cell - 1) / _cell;
            _rows = (reader.Height + _cell - 1) / _cell;
            _offsets = new int[model.Tasks.Count + 1];
            for (var t = 0; t < model.Tasks.Count; t++) _offsets[t + 1] = _offsets[t] + model.Tasks[t].Labels.Count;
            _values = _offsets[^1];
            (_low, _scale) = InputScale(reader, options, model.SceneInputRange, _bands.Length);
            _noData = options.NoData ?? reader.NoData;
            _batch = new float[checked((long)options.BatchSize * _bands.Length * _window * _window)];
            _batchWindows = new (int, int, bool[])[options.BatchSize];
            // The block rows one row of windows touches stay decoded; those above it are released as windows move down.
            var blockRows = (_window + reader.BlockSize.Height - 1) / reader.BlockSize.Height + 1;
            var blocksAcross = (reader.Width + reader.BlockSize.Width - 1) / reader.BlockSize.Width;
            var planes = reader.Planar ? _bands.Distinct().Count() : 1;
            reader.CacheBytes = Math.Min(options.MaxCacheBytes, (long)blockRows * blocksAcross * planes * reader.BlockBytes);
        }

        public SceneMapResult Execute()
        {
            var xs = Positions(_reader.Width);
            var ys = Positions(_reader.Height);
            var total = (long)xs.Count * ys.Count;
            var transform = _reader.Georeference?.Transform;
            var tasks = _model.Tasks;
            _classPixels = tasks.Select(t => new long[t.Labels.Count]).ToArray();
            _valueSums = tasks.Select(t => new double[t.Labels.Count]).ToArray();
            _valueTotals = tasks.Select(t => new double[t.Labels.Count]).ToArray();
            try
            {
                CreateProducts(transform);
                var window = new float[_bands.Length * _window * _window];
                for (var j = 0; j < ys.Count; j++)
                {
                    _reader.ReleaseAbove(ys[j]);
                    foreach (var x in xs)
                    {
                        _cancel.ThrowIfCancellationRequested();
                        var slot = _batchCount;
                        var target = _batch.AsSpan(slot * window.Length, window.Length);
                        _readTime.Start();
                        _reader.ReadWindow(x, ys[j], _window, _window, _bands, target);
                        var valid = Prepare(target, x, ys[j], out var any);
                        _readTime.Stop();
                        if (!any)
                        {
                            _windowsSkipped++;
                            _windowsDone++;
                            continue;
                        }
                        _batchWindows[slot] = (x, ys[j], valid);
                        if (++_batchCount == _options.BatchSize) RunBatch();
                    }
                    if (_batchCount > 0) RunBatch();
                    var complete = j + 1 < ys.Count ? ys[j + 1] / _cell : _rows;
                    WriteRows(complete);
                    _progress?.Report(new SceneMappingProgress(_windowsDone, total, _rowsWritten, _rows));
                }
                WriteRows(_rows);
                var summary = Summary(transform);
                var files = _products.Select(p => p.Writer.Target).Distinct().ToList();
                foreach (var product in _products) product.Writer.Commit();
                var summaryPath = Companion(".summary.json");
                AtomicFile.WriteAllText(summaryPath, JsonSerializer.Serialize(summary, Json));
                files.Add(summaryPath);
                return new SceneMapResult(files, summary, _readTime.Elapsed, _modelTime.Elapsed);
            }
            finally
            {
                foreach (var product in _products) product.Writer.Dispose();
            }
        }

        private List<int> Positions(int extent)
        {
            var positions = new List<int>();
            for (var p = 0; p + _window <= extent; p += _stride) positions.Add(p);
            if (positions[^1] + _window < extent) positions.Add(extent - _window);
            return positions;
        }

        // No-data check and scaling of one window in place; returns per-cell validity of the cells it covers.
        private bool[] Prepare(Span<float> window, int x, int y, out bool any)
        {
            var plane = _window * _window;
            var cx0 = x / _cell;
            var cy0 = y / _cell;
            var across = (x + _window - 1) / _cell - cx0 + 1;
            var down = (y + _window - 1) / _cell - cy0 + 1;
            var valid = new bool[across * down];
            any = false;
            var hasNoData = _noData.HasValue;
            var noData = (float)(_noData ?? 0);
            var noDataIsNaN = float.IsNaN(noData);
            for (var r = 0; r < _window; r++)
            {
                var vy = (y + r) / _cell - cy0;
                for (var c = 0; c < _window; c++)
                {
                    var i = r * _window + c;
                    var pixelValid = !hasNoData;
                    for (var b = 0; b < _bands.Length && !pixelValid; b++)
                    {
                        var v = window[b * plane + i];
                        pixelValid = noDataIsNaN ? !float.IsNaN(v) : v != noData;
                    }
                    if (!pixelValid) continue;
                    any = true;
                    valid[vy * across + (x + c) / _cell - cx0] = true;
                }
            }
            // Not rounded: training saw the same unrounded values (16-bit samples keep their precision).
            for (var k = 0; k < window.Length; k++)
            {
                var b = k / plane;
                var v = (window[k] - _low[b]) * _scale[b];
                window[k] = float.IsNaN(v) ? 0 : Math.Clamp(v, 0f, 255f);
            }
            return valid;
        }

        private void RunBatch()
        {
            var size = _bands.Length * _window * _window;
            _modelTime.Start();
            var outputs = _model.Run(_batch.AsSpan(0, _batchCount * size), _batchCount);
            _modelTime.Stop();
            for (var w = 0; w < _batchCount; w++)
            {
                var (x, y, valid) = _batchWindows[w];
                var cx0 = x / _cell;
                var cy0 = y / _cell;
                var cx1 = (x + _window - 1) / _cell;
                var cy1 = (y + _window - 1) / _cell;
                var across = cx1 - cx0 + 1;
                for (var cy = cy0; cy <= cy1; cy++)
                {
                    if (!_pending.TryGetValue(cy, out var row)) _pending[cy] = row = new CellRow(_cols, _values);
                    for (var cx = cx0; cx <= cx1; cx++)
                    {
                        row.Count[cx]++;
                        if (valid[(cy - cy0) * across + cx - cx0]) row.Valid[cx] = true;
                        for (var t = 0; t < _model.Tasks.Count; t++)
                        {
                            var width = _model.Tasks[t].Labels.Count;
                            var values = outputs[_model.Tasks[t].Name];
                            for (var k = 0; k < width; k++) row.Sums[cx * _values + _offsets[t] + k] += values[w * width + k];
                        }
                    }
                }
            }
            _windowsRun += _batchCount;
            _windowsDone += _batchCount;
            _batchCount = 0;
        }

        // Writes every map row below `limit` that no later window touches.
        private void WriteRows(int limit)
        {
            var tasks = _model.Tasks;
            var bytes = new byte[_cols];
            var floats = new float[_cols * Math.Max(1, tasks.Max(t => t.Labels.Count))];
            var mean = new float[_values];
            for (; _rowsWritten < limit; _rowsWritten++)
            {
                var cy = _rowsWritten;
                if (!_pending.Remove(cy, out var row)) row = new CellRow(_cols, _values);
                var cellHeight = Math.Min(_cell, _reader.Height - cy * _cell);
                foreach (var product in _products)
                {
                    var t = product.Task;
                    var width = tasks[t].Labels.Count;
                    for (var cx = 0; cx < _cols; cx++)
                    {
                        var ok = row.Valid[cx] && row.Count[cx] > 0;
                        if (product.ClassMap)
                        {
                            var best = 0;
                            for (var k = 1; k < width; k++)
                                if (row.Sums[cx * _values + _offsets[t] + k] > row.Sums[cx * _values + _offsets[t] + best]) best = k;
                            bytes[cx] = ok ? (byte)best : ClassNoData;
                        }
                        else
                        {
                            for (var k = 0; k < width; k++)
                                floats[cx * width + k] = ok ? row.Sums[cx * _values + _offsets[t] + k] / row.Count[cx] : float.NaN;
                        }
                    }
                    if (product.ClassMap) product.Writer.WriteRow(bytes);
                    else product.Writer.WriteRow(floats.AsSpan(0, _cols * width));
                }
                // Summary: scene pixels per class and value totals over valid cells.
                for (var cx = 0; cx < _cols; cx++)
                {
                    if (!(row.Valid[cx] && row.Count[cx] > 0)) continue;
                    var pixels = (long)cellHeight * Math.Min(_cell, _reader.Width - cx * _cell);
                    _validPixels += pixels;
                    _validCells++;
                    for (var t = 0; t < tasks.Count; t++)
                    {
                        var width = tasks[t].Labels.Count;
                        if (tasks[t].Kind == TaskKind.Classification)
                        {
                            var best = 0;
                            for (var k = 1; k < width; k++)
                                if (row.Sums[cx * _values + _offsets[t] + k] > row.Sums[cx * _values + _offsets[t] + best]) best = k;
                            _classPixels[t][best] += pixels;
                        }
                        for (var k = 0; k < width; k++)
                        {
                            var v = (double)row.Sums[cx * _values + _offsets[t] + k] / row.Count[cx];
                            _valueSums[t][k] += v;
                            _valueTotals[t][k] += v * pixels / ((double)_window * _window);
                        }
                    }
                }
            }
        }

        private void CreateProducts(GeoTransform? transform)
        {
            var georeference = _reader.Georeference;
            var cellTransform = transform?.Scaled(_cell);
            GeoReference? Reference(string noData) =>
                cellTransform is { } ct ? (georeference ?? new GeoReference()).WithTransform(ct, noData) : new GeoReference { NoDataText = noData };
            var first = true;
            for (var t = 0; t < _model.Tasks.Count; t++)
            {
                var task = _model.Tasks[t];
                if (task.Kind == TaskKind.Classification)
                {
                    var path = first ? _output : Companion($".{task.Name}.tif");
                    _products.Add(new Product(t, true, new GeoTiffWriter(path, _cols, _rows, 1, RasterSampleType.UInt8,
                        Reference(ClassNoData.ToString(CultureInfo.InvariantCulture)), Palette(task.Labels.Count), Metadata(task, classMap: true))));
                    _products.Add(new Product(t, false, new GeoTiffWriter(Companion($".{task.Name}.probabilities.tif"), _cols, _rows, task.Labels.Count,
                        RasterSampleType.Float32, Reference("nan"), null, Metadata(task, classMap: false))));
                }
                else if ((task.Kind == TaskKind.MultiLabel || task.Kind == TaskKind.Regression))
                {
                    var suffix = task.Kind == TaskKind.MultiLabel ? ".probabilities.tif" : ".tif";
                    var path = first ? _output : Companion($".{task.Name}{suffix}");
                    _products.Add(new Product(t, false, new GeoTiffWriter(path, _cols, _rows, task.Labels.Count,
                        RasterSampleType.Float32, Reference("nan"), null, Metadata(task, classMap: false))));
                }
                else continue;
                first = false;
            }
        }

        private SceneSummary Summary(GeoTransform? transform)
        {
            var pixelArea = transform?.PixelArea;
            var tasks = new List<SceneTaskSummary>();
            for (var t = 0; t < _model.Tasks.Count; t++)
            {
                var task = _model.Tasks[t];
                var files = _products.Where(p => p.Task == t).Select(p => p.Writer.Target).ToArray();
                tasks.Add(new SceneTaskSummary
                {
                    Task = task.Name,
                    Kind = task.Kind.ToString(),
                    Files = files,
                    Classes = task.Kind == TaskKind.Classification
                        ? task.Labels.Select((name, k) => new SceneClassArea(name, _classPixels[t][k], _classPixels[t][k] * pixelArea,
                            _validPixels > 0 ? (double)_classPixels[t][k] / _validPixels : 0)).ToArray()
                        : null,
                    // Regression values add up over the scene (e.g. building counts); probabilities do not, so class and label tasks have none.
                    Values = task.Kind == TaskKind.Regression
                        ? task.Labels.Select((name, k) => new SceneValueTotal(name, _validCells > 0 ? _valueSums[t][k] / _validCells : 0, _valueTotals[t][k])).ToArray()
                        : null,
                });
            }
            return new SceneSummary
            {
                Scene = _reader.Path,
                SceneWidth = _reader.Width,
                SceneHeight = _reader.Height,
                Bands = _bands.Select(b => b + 1).ToArray(),
                Window = _window,
                Stride = _stride,
                CellSize = _cell,
                MapWidth = _cols,
                MapHeight = _rows,
                WindowsRun = _windowsRun,
                WindowsSkipped = _windowsSkipped,
                PixelArea = pixelArea,
                ValidPixels = _validPixels,
                NoDataPixels = (long)_reader.Width * _reader.Height - _validPixels,
                Tasks = tasks,
            };
        }

        private string Companion(string suffix)
        {
            var directory = Path.GetDirectoryName(_output)!;
            return Path.Combine(directory, Path.GetFileNameWithoutExtension(_output) + suffix);
        }

        // GDAL_METADATA: band descriptions and the value names, readable with gdalinfo.
        internal static string GdalMetadata(WindowTask task, bool classMap) => Metadata(task, classMap);

        private static string Metadata(WindowTask task, bool classMap)
        {
            var xml = new StringBuilder("<GDALMetadata>");
            xml.Append(CultureInfo.InvariantCulture, $"<Item name=\"TASK\">{SecurityElement.Escape(task.Name)}</Item>");
            xml.Append(CultureInfo.InvariantCulture, $"<Item name=\"KIND\">{task.Kind}</Item>");
            if (classMap)
            {
                xml.Append(CultureInfo.InvariantCulture, $"<Item name=\"CLASS_NAMES\">{SecurityElement.Escape(string.Join(",", task.Labels))}</Item>");
                for (var k = 0; k < task.Labels.Count; k++)
                    xml.Append(CultureInfo.InvariantCulture, $"<Item name=\"CLASS_{k}\">{SecurityElement.Escape(task.Labels[k])}</Item>");
                xml.Append(CultureInfo.InvariantCulture, $"<Item name=\"DESCRIPTION\" sample=\"0\" role=\"description\">{SecurityElement.Escape(task.Name)}</Item>");
            }
            else
            {
                for (var k = 0; k < task.Labels.Count; k++)
                    xml.Append(CultureInfo.InvariantCulture, $"<Item name=\"DESCRIPTION\" sample=\"{k}\" role=\"description\">{SecurityElement.Escape(task.Labels[k])}</Item>");
            }
            return xml.Append("</GDALMetadata>").ToString();
        }

        // Distinct colours for the classes (evenly spaced hues), black for the rest and for no-data.
        internal static (byte, byte, byte)[] DefaultPalette(int classes) => Palette(classes);

        private static (byte, byte, byte)[] Palette(int classes)
        {
            var palette = new (byte, byte, byte)[256];
            for (var k = 0; k < Math.Min(classes, 255); k++)
            {
                var h = k * 360.0 / Math.Max(classes, 1);
                var s = k % 2 == 0 ? 0.85 : 0.6;
                var v = k % 3 == 2 ? 0.7 : 0.95;
                var c = v * s;
                var xx = c * (1 - Math.Abs(h / 60 % 2 - 1));
                var (r, g, b) = (h / 60) switch { < 1 => (c, xx, 0.0), < 2 => (xx, c, 0.0), < 3 => (0.0, c, xx), < 4 => (0.0, xx, c), < 5 => (xx, 0.0, c), _ => (c, 0.0, xx) };
                var m = v - c;
                palette[k] = ((byte)Math.Round((r + m) * 255), (byte)Math.Round((g + m) * 255), (byte)Math.Round((b + m) * 255));
            }
            return palette;
        }

        private sealed record Product(int Task, bool ClassMap, GeoTiffWriter Writer);

        private sealed class CellRow(int cols, int values)
        {
            public float[] Sums { get; } = new float[cols * values];
            public int[] Count { get; } = new int[cols];
            public bool[] Valid { get; } = new bool[cols];
        }
    }
}
