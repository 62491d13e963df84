using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using SpatialNet.Cli.Hosting;
using SpatialNet.Heads;
using SpatialNet.IO;
using SpatialNet.Training.Imaging;
using SpatialNet.Training.Inference;

namespace SpatialNet.Cli.Commands;

/// <summary><c>spatialnet predict</c>: a run's per-image tasks on one image or a folder of images, as CSV or JSON.</summary>
internal static partial class PredictCommand
{
    public static Command Create()
    {
        var run = InferenceOptions.Run();
        var input = new Option<string>("--input", "-i") { Description = "An image (TIFF, PNG, JPEG) or a folder of images (searched recursively).", Required = true, HelpName = "PATH" };
        var tasks = new Option<string[]>("--task", "-t") { Description = "Tasks to predict (repeatable; default: every classification, regression and multi-label task).", HelpName = "NAME" };
        var output = new Option<string?>("--output", "-o") { Description = "Write the predictions to FILE: .json as JSON, .tif/.tiff as maps of a GeoTIFF scene, otherwise CSV (default: CSV on standard output).", HelpName = "FILE" };
        var scene = SceneOptions.Create();
        var batch = new Option<int>("--batch-size") { Description = "Images per forward pass.", DefaultValueFactory = _ => 32, HelpName = "N" };
        var device = InferenceOptions.Device();
        var json = CommonOptions.Json();
        var command = new Command("predict", "Predict a trained model's per-image tasks (class with probabilities, regression values, present labels) for an image or a folder.")
        {
            run, input, tasks, output, batch, device, json, scene.Bands, scene.Stride, scene.CellSize, scene.NoData, scene.InputRange, scene.Probabilities,
        };
        command.Description += " With --output *.tif, maps a GeoTIFF scene of any size with sliding windows into georeferenced GeoTIFF maps and a JSON summary.";
        command.SetAction(parse =>
        {
            if (parse.GetValue(batch) < 1)
                throw new UsageException($"--batch-size: {parse.GetValue(batch)} is not 1 or more.");
            var path = Path.GetFullPath(parse.GetRequiredValue(input));
            if (parse.GetValue(output) is { } map && IsGeoTiff(map))
                return MapScene(parse, run, device, path, Path.GetFullPath(map), parse.GetValue(tasks), parse.GetValue(batch), scene);
            var files = Files(path);
            using var predictor = InferenceOptions.Open(parse, run, device, parse.GetValue(batch));
            var selected = parse.GetValue(tasks) is { Length: > 0 } t ? t : null;
            var rows = new List<(string File, IReadOnlyDictionary<string, TaskPrediction> Tasks)>();
            IReadOnlyList<PredictorTask>? predicted = null;
            // Decoded a batch at a time, so a folder of any size needs memory for one batch only.
            foreach (var chunk in files.Chunk(parse.GetValue(batch)))
            {
                var result = predictor.Predict(chunk.Select(predictor.LoadImage).ToArray(), selected);
                predicted ??= result.Tasks;
                for (int i = 0; i < chunk.Length; i++)
                    rows.Add((Relative(path, chunk[i]), result[i]));
            }
            var target = parse.GetValue(output);
            bool asJson = parse.GetValue(json) || (target is not null && target.EndsWith(".json", StringComparison.OrdinalIgnoreCase));
            var text = asJson ? Json(rows).ToJsonString(CommonOptions.Indented) : Csv(rows, predicted!);
            if (target is null)
            {
                parse.Output().Write(text);
                if (asJson)
                    parse.Output().WriteLine();
            }
            else
            {
                var full = Path.GetFullPath(target);
                AtomicFile.Write(full, s => s.Write(Encoding.UTF8.GetBytes(text)));
                parse.Output().WriteLine(string.Create(CultureInfo.InvariantCulture, $"{rows.Count} image(s) → {full}"));
            }
            return 0;
        });
        return command;
    }

    private static string[] Files(string path)
    {
        if (File.Exists(path))
            return [path];
        if (!Directory.Exists(path))
            throw new FileNotFoundException($"--input: '{path}' is neither an image nor a folder.", path);
        var files = Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories)
            .Where(f => ImageDecoder.KnownExtensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
            .Order(StringComparer.Ordinal).ToArray();
        return files.Length > 0 ? files : throw new FileNotFoundException(
            $"--input: the folder '{path}' holds no image ({string.Join(", ", ImageDecoder.KnownExtensions)}).", path);
    }

    private static string Relative(string root, string file) =>
        File.Exists(root) ? Path.GetFileName(file) : Path.GetRelativePath(root, file).Replace('\\', '/');

    // One row per image: for a classification task the predicted class and each class's probability,
    // for multi-label the present labels (';'-joined) and each label's probability, for regression each value.
    private static string Csv(List<(string File, IReadOnlyDictionary<string, TaskPrediction> Tasks)> rows, IReadOnlyList<PredictorTask> tasks)
    {
        var header = new List<string> { "file" };
        foreach (var t in tasks)
        {
            if ((t.Kind == TaskKind.Classification || t.Kind == TaskKind.MultiLabel))
                header.Add(t.Name);
            header.AddRange(Enumerable.Range(0, t.Outputs).Select(k => t.Outputs == 1 && t.Kind == TaskKind.Regression ? t.Name : $"{t.Name}:{Name(t, k)}"));
        }
        var text = new StringBuilder().AppendLine(string.Join(',', header.Select(Field)));
        foreach (var (file, predictions) in rows)
        {
            var fields = new List<string> { file };
            foreach (var t in tasks)
            {
                var p = predictions[t.Name];
                if (t.Kind == TaskKind.Classification)
                    fields.Add(p.PredictedLabel!);
                else if (t.Kind == TaskKind.MultiLabel)
                    fields.Add(string.Join(';', p.PresentLabels));
                fields.AddRange(p.Values.Select(v => v.ToString("G6", CultureInfo.InvariantCulture)));
            }
            text.AppendLine(string.Join(',', fields.Select(Field)));
        }
        return text.ToString();
    }

    private static JsonArray Json(List<(string File, IReadOnlyDictionary<string, TaskPrediction> Tasks)> rows) => new(rows.Select(row =>
    {
        var tasks = new JsonObject();
        foreach (var (name, p) in row.Tasks)
        {
            var values = new JsonObject();
            for (int k = 0; k < p.Values.Count; k++)
                values[p.Labels is { } l && l.Count == p.Values.Count ? l[k] : k.ToString(CultureInfo.InvariantCulture)] = p.Values[k];
            var o = new JsonObject { ["kind"] = p.Kind.Name };
            if (p.Kind == TaskKind.Classification)
                o["class"] = p.PredictedLabel;
            if (p.Kind == TaskKind.MultiLabel)
                o["present"] = new JsonArray(p.PresentLabels.Select(x => (JsonNode?)x).ToArray());
            o[p.Kind == TaskKind.Regression ? "values" : "probabilities"] = values;
            tasks[name] = o;
        }
        return (JsonNode?)new JsonObject { ["file"] = row.File, ["tasks"] = tasks };
    }).ToArray());

    private static string Name(PredictorTask t, int k) =>
        t.Labels is { } labels && labels.Count == t.Outputs ? labels[k] : k.ToString(CultureInfo.InvariantCulture);

    private static string Field(string value) =>
        value.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
}
