using System.Globalization;
using Microsoft.Extensions.Logging;
using SpatialNet.DependencyInjection;
using SpatialNet.Heads;
using SpatialNet.Training.Batching;
using SpatialNet.Training.Data;
using SpatialNet.Training.Evaluation;
using SpatialNet.Training.Imaging;
using SpatialNet.Training.Pipeline;
using SpatialNet.Training.Transforms;
using TorchSharp;
using static TorchSharp.torch;

namespace SpatialNet.Training.Inference;

/// <summary>Scores a trained run on data it was not trained or validated on.</summary>
public static class RunEvaluation
{
    /// <summary>
    /// Scores a trained run on every image of a labelled folder (<c>folder/&lt;class&gt;/&lt;image&gt;</c>) with the run's own
    /// class list, bands, input range and normalisation (all from the run folder, nothing recomputed from the images), and
    /// writes <c>report_&lt;name&gt;.json</c>/<c>.md</c> (per-class metrics, confusion matrix) into <paramref name="outputDirectory"/>
    /// (default: the run folder). The folder's class names must be classes of the run; the run's classification tasks that
    /// read <c>label</c> are scored.
    /// </summary>
    /// <param name="runDirectory">The run folder (output_dir of a training run).</param>
    /// <param name="folder">The labelled image folder.</param>
    /// <param name="outputDirectory">Where the report goes; null: the run folder.</param>
    /// <param name="name">The report's split name (<c>report_{name}</c>); null: the folder's name.</param>
    /// <param name="device">cpu, cuda, cuda:N or auto.</param>
    /// <param name="batchSize">Images per forward pass.</param>
    /// <param name="logger">Logger, or null.</param>
    /// <exception cref="DatasetFormatException">A class folder that is not a class of the run, or no image.</exception>
    /// <exception cref="ConfigurationException">The run has no classification task reading <c>label</c>.</exception>
    public static EvaluationReport EvaluateFolder(string runDirectory, string folder, string? outputDirectory = null, string? name = null,
        string device = "cpu", int batchSize = 32, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(runDirectory);
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var run = RunFolder.Open(runDirectory);
        var tasks = run.Tasks.Where(t => t.Kind == TaskKind.Classification && run.Sources[t.SourceIndex].Targets.GetValueOrDefault(t.Name) is [SampleKeys.Label]).ToList();
        if (tasks.Count == 0)
            throw new ConfigurationException($"{run.Directory}: no classification task of the run reads 'label' (its tasks: {string.Join(", ", run.Tasks.Select(t => $"{t.Name} ({t.Kind})"))}); a labelled folder scores such tasks.");
        var sourceIndex = tasks[0].SourceIndex;
        tasks = [.. tasks.Where(t => t.SourceIndex == sourceIndex)];
        var labels = tasks[0].Task.Labels
            ?? throw new ConfigurationException($"{run.Directory}: task '{tasks[0].Name}' has no class names in data.json; they name the folders to score.");

        var images = new ImageFolderDataset(folder, new ImageCache(run.ImageOptions));
        var map = new int[images.ClassNames.Count];
        for (int c = 0; c < map.Length; c++)
        {
            map[c] = labels.ToList().IndexOf(images.ClassNames[c]);
            if (map[c] < 0)
                throw new DatasetFormatException(Path.Combine(images.Root, images.ClassNames[c]), "<class>/",
                    $"'{images.ClassNames[c]}' is not a class of the run; its classes: {string.Join(", ", labels)}.");
        }

        using var scope = NewDisposeScope();
        var target = TrainingPipeline.ResolveDevice(device);
        using var model = run.CreateModel();
        TrainingPipeline.LoadWeights(model, run.WeightsPath);
        model.to(target);
        var source = run.Sources[sourceIndex];
        IBatchTransform first = source is { Mean: { } mean, Std: { } std } ? new Normalize(mean, std) : new ToFloat();
        try
        {
            var dataset = new RelabelledDataset(images, map);
            var preparation = new DatasetBatchPreparation
            {
                Targets = tasks.ToDictionary(t => t.Name, _ => (IReadOnlyList<string>)[SampleKeys.Label], StringComparer.Ordinal),
                Transform = first,
            };
            var batches = new DatasetBatchSource(new DataLoader(dataset, batchSize, shuffle: false), preparation, target);
            name ??= Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder)));
            var result = new MultiTaskEvaluator(model, batches, [.. tasks.Select(t => t.Task)], name).Run();
            var report = new EvaluationReport(result, "SpatialNet evaluation of a labelled folder");
            var options = run.ImageOptions;
            report.With("run", run.Directory)
                .With("weights", run.WeightsPath)
                .With("input", $"{Path.GetFullPath(folder)}: {images.Count.ToString(CultureInfo.InvariantCulture)} images in {images.ClassNames.Count} class folders ({string.Join(", ", images.ClassNames)})")
                .With("classes", string.Join(", ", labels))
                .With("bands", options.SelectBands is { } b ? string.Join(", ", b.Select(x => x + 1)) + " (1-based, the run's)" : "all")
                .With("input range", options.InputRange is { } r ? string.Join(", ", r.Select(p => FormattableString.Invariant($"[{p.Low}, {p.High}]"))) + " (the run's)" : "the sample type's (0–255 for 8-bit, 0–65535 for 16-bit)")
                .With("normalisation", source.Mean is null ? "none" : "the run's training statistics (data.json)")
                .With("device", target.ToString());
            new EvaluationReportWriter().Write(report, outputDirectory ?? run.Directory, "report_" + name);
            return report;
        }
        finally
        {
            (first as IDisposable)?.Dispose();
        }
    }

    /// <summary>An image folder whose labels are mapped onto a run's class indices.</summary>
    private sealed class RelabelledDataset(ImageFolderDataset inner, int[] map) : IDataset
    {
        public string Name => inner.Name;

        public int Count => inner.Count;

        public Sample GetSample(int index)
        {
            var sample = inner.GetSample(index);
            sample.Set(SampleKeys.Label, tensor((long)map[inner.Entries[index].ClassIndex]));
            return sample;
        }
    }
}
