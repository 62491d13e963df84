using System.CommandLine;
using System.Globalization;
using SpatialNet.Cli.Hosting;
using SpatialNet.Training.Inference;

namespace SpatialNet.Cli.Commands;

/// <summary><c>spatialnet predict --input scene.tif --output map.tif</c>: a whole scene through <see cref="SceneMapper"/>.</summary>
internal static partial class PredictCommand
{
    private static bool IsGeoTiff(string path) =>
        path.EndsWith(".tif", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".tiff", StringComparison.OrdinalIgnoreCase);

    private static int MapScene(ParseResult parse, Option<string> run, Option<string> device, string scene, string map, string[]? tasks, int batch, SceneOptions o)
    {
        if (!File.Exists(scene))
            throw new FileNotFoundException($"--input: the scene '{scene}' does not exist (an --output ending in .tif maps one GeoTIFF scene).", scene);
        var options = new SceneMappingOptions
        {
            Bands = parse.GetValue(o.Bands) is { Length: > 0 } bands ? bands.Select(b => b - 1).ToArray() : null,
            Stride = parse.GetValue(o.Stride),
            CellSize = parse.GetValue(o.CellSize),
            BatchSize = batch,
            NoData = parse.GetValue(o.NoData),
            InputRange = parse.GetValue(o.InputRange) is { Length: 2 } r ? (r[0], r[1]) : null,
        };
        using var predictor = InferenceOptions.Open(parse, run, device, batch);
        var dense = predictor.DenseTasks;
        // A per-pixel task (named, or the run's only kind of task) is mapped at full resolution.
        if (tasks is { Length: > 0 } && (tasks.Length > 1 || !dense.Contains(tasks[0])))
            throw new UsageException("--task: a scene map holds every per-image task of the run, or one per-pixel task named with --task" +
                (dense.Count > 0 ? $" ({string.Join(", ", dense)})" : "") + ".");
        if (tasks is { Length: 1 } || (dense.Count > 0 && predictor.ImageTasks.Count == 0))
        {
            var run_ = predictor.Run;
            var source = run_.Tasks.First(t => t.Name == (tasks is { Length: 1 } ? tasks[0] : dense[0])).SourceIndex;
            var sourceConfig = run_.Config.Data.Sources[source];
            var palette = sourceConfig.SourceKind?.Palette(sourceConfig);
            var denseResult = SceneMapper.MapDense(predictor.DenseModel(tasks is { Length: 1 } ? tasks[0] : null), scene, map, options,
                parse.GetValue(o.Probabilities), palette);
            foreach (var file in denseResult.Files)
                parse.Output().WriteLine(file);
            parse.Error().WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"mapped {denseResult.Width}×{denseResult.Height} pixels with {denseResult.Windows:N0} windows in {denseResult.Elapsed.TotalSeconds:F1} s (blended rows held: {denseResult.PeakBlendBytes / 1048576.0:F1} MiB)"));
            return 0;
        }
        var error = parse.Error();
        int lastPercent = -1;
        var progress = new Progress(p =>
        {
            int percent = p.WindowsTotal == 0 ? 100 : (int)(100 * p.WindowsDone / p.WindowsTotal);
            if (percent / 10 != lastPercent / 10 || p.WindowsDone == p.WindowsTotal)
            {
                lastPercent = percent;
                error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"mapping: {p.WindowsDone:N0} / {p.WindowsTotal:N0} windows ({percent} %)"));
            }
        });
        var result = SceneMapper.Map(predictor, scene, map, options, progress);
        var output = parse.Output();
        foreach (var file in result.Files)
            output.WriteLine(file);
        return 0;
    }

    // Reports synchronously on the mapping thread (System.Progress would post to the thread pool).
    private sealed class Progress(Action<SceneMappingProgress> report) : IProgress<SceneMappingProgress>
    {
        public void Report(SceneMappingProgress value) => report(value);
    }

    /// <summary>The options that only scene maps use.</summary>
    private sealed record SceneOptions(Option<int[]> Bands, Option<int> Stride, Option<int> CellSize, Option<double?> NoData, Option<double[]> InputRange, Option<bool> Probabilities)
    {
        public static SceneOptions Create() => new(
            new Option<int[]>("--bands") { Description = "Scene: one-based bands fed to the model, in order, e.g. 4,3,2 for Sentinel-2 B4,B3,B2 (default: the first C).", HelpName = "B,B,...", CustomParser = r => Numbers(r, int.Parse) },
            new Option<int>("--stride") { Description = "Scene: step between windows in pixels (default: the window size, no overlap; per-pixel tasks: half a window, blended).", HelpName = "PIXELS" },
            new Option<int>("--cell-size") { Description = "Scene: map cell edge in scene pixels (default: the stride).", HelpName = "PIXELS" },
            new Option<double?>("--no-data") { Description = "Scene: no-data value (default: the file's GDAL_NODATA).", HelpName = "VALUE" },
            new Option<double[]>("--input-range") { Description = "Scene: values mapped to 0 and 255 (default: the sample type's range).", HelpName = "LO,HI", CustomParser = r => Numbers(r, s => double.Parse(s, CultureInfo.InvariantCulture)) },
            new Option<bool>("--probabilities") { Description = "Scene, segmentation: also write the blended class probabilities as {stem}.probabilities.tif." });

        private static T[] Numbers<T>(System.CommandLine.Parsing.ArgumentResult r, Func<string, T> parse)
        {
            try
            {
                return r.Tokens.SelectMany(t => t.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).Select(parse).ToArray();
            }
            catch (FormatException)
            {
                r.AddError($"'{string.Join(' ', r.Tokens.Select(t => t.Value))}' is not a comma-separated list of numbers.");
                return [];
            }
        }
    }
}
