using SpatialNet.Heads.Dense;
using SpatialNet.Training.Evaluation;
using SpatialNet.Training.Imaging;

namespace SpatialNet.Training.Inference;

/// <summary>A full-resolution map of one image: <c>[K, H, W]</c> values (probabilities or values) and, for segmentation, the class per pixel.</summary>
/// <param name="Task">The task.</param>
/// <param name="Labels">Names of the K values.</param>
/// <param name="Height">Rows.</param>
/// <param name="Width">Columns.</param>
/// <param name="Values">K·H·W values, band after band.</param>
/// <param name="Classes">H·W class indices (segmentation), else null.</param>
internal sealed record DenseMap(string Task, IReadOnlyList<string> Labels, int Height, int Width, float[] Values, byte[]? Classes);

public sealed partial class Predictor
{
    /// <summary>The run's per-pixel tasks (segmentation, pixel regression).</summary>
    internal IReadOnlyList<string> DenseTasks => [.. _run.Tasks.Where(t => DenseEvaluation.Handles(t.Task)).Select(t => t.Name)];

    /// <summary>The per-pixel task <paramref name="task"/> (or the only one) as a window model.</summary>
    /// <exception cref="InvalidOperationException">The run has no per-pixel task, or several and none is named.</exception>
    internal IDenseWindowModel DenseModel(string? task = null)
    {
        var dense = _run.Tasks.Where(t => DenseEvaluation.Handles(t.Task)).ToArray();
        var t = task is null
            ? dense.Length == 1 ? dense[0] : throw new InvalidOperationException(dense.Length == 0
                ? $"The model has no per-pixel task (segmentation, pixel_regression); its tasks: {string.Join(", ", _run.Tasks.Select(x => $"{x.Name} ({x.Kind})"))}."
                : $"The model has several per-pixel tasks ({string.Join(", ", dense.Select(x => x.Name))}); name one.")
            : dense.FirstOrDefault(x => x.Name == task) ?? throw new InvalidOperationException(
                $"The model has no per-pixel task '{task}'; its per-pixel tasks: {string.Join(", ", dense.Select(x => x.Name))}.");
        if (_onnx is not null && !_onnx.HasOutput(t.Name))
            throw new InvalidOperationException($"The ONNX model has no output for the per-pixel task '{t.Name}'; export the run again with the task or use the TorchSharp backend.");
        return new DenseWindows(this, t);
    }

    /// <summary>
    /// A full-resolution map of <paramref name="image"/> (at least the model's input size) for a per-pixel task: the same
    /// overlapping, taper-blended windows as scene mapping (stride: half a window unless given).
    /// </summary>
    internal DenseMap PredictMap(RasterImage image, string? task = null, int stride = 0)
    {
        ArgumentNullException.ThrowIfNull(image);
        var model = DenseModel(task);
        if (image.Channels != Channels)
            throw new ArgumentException($"The image has {image.Channels} bands; the model takes {Channels}.", nameof(image));
        int s = ImageSize, h = image.Height, w = image.Width, k = model.Labels.Count;
        if (h < s || w < s)
            throw new ArgumentException($"The image is {w}×{h}, smaller than the model's {s}×{s} window; resize it first.", nameof(image));
        var bytes = image.ToUInt8().Pixels8!;
        var values = new float[(long)k * h * w];
        stride = stride > 0 ? Math.Min(stride, s) : Math.Max(1, s / 2);
        var blend = new TaperedBlend(w, k, s, s - stride);
        SceneMapper.RunWindows(model, w, h, stride, _options.MaxBatchSize, blend,
            (y, row) =>
            {
                for (int c = 0; c < k; c++) row.Slice(c * w, w).CopyTo(values.AsSpan((int)(((long)c * h + y) * w), w));
            },
            (x, y, window, valid) =>
            {
                for (int b = 0; b < Channels; b++)
                    for (int r = 0; r < s; r++)
                        for (int c = 0; c < s; c++)
                            window[(b * s + r) * s + c] = bytes[((long)b * h + y + r) * w + x + c];
                valid.Fill(true);
                return true;
            });
        byte[]? classes = null;
        if (model.IsClassMap)
        {
            classes = new byte[h * w];
            for (int i = 0; i < classes.Length; i++)
            {
                int best = 0;
                for (int c = 1; c < k; c++)
                    if (values[(long)c * h * w + i] > values[(long)best * h * w + i]) best = c;
                classes[i] = (byte)best;
            }
        }
        return new DenseMap(model.Task, model.Labels, h, w, values, classes);
    }

    private sealed class DenseWindows(Predictor predictor, RunFolder.RunTask task) : IDenseWindowModel
    {
        public string Task => task.Name;

        public int Channels => predictor.Channels;

        public int WindowSize => predictor.ImageSize;

        public bool IsClassMap => task.Task.Head is SegmentationHeadOptions;

        public IReadOnlyList<(double Low, double High)>? SceneInputRange => predictor._run.ImageOptions.InputRange;

        public IReadOnlyList<string> Labels { get; } = task.Task.Head switch
        {
            SegmentationHeadOptions s => task.Task.Labels is { } l && l.Count == s.NumClasses ? l : [.. Enumerable.Range(0, s.NumClasses).Select(i => $"class_{i}")],
            PixelRegressionHeadOptions r => [.. Enumerable.Range(0, r.Outputs).Select(i => $"value_{i}")],
            _ => throw new InvalidOperationException($"Task '{task.Name}' is not a per-pixel task."),
        };

        public float[] Run(ReadOnlySpan<float> windows, int count)
        {
            lock (predictor._gate)
            {
                ObjectDisposedException.ThrowIf(predictor._disposed, predictor);
                return predictor._onnx is { } onnx
                    ? onnx.Run(windows, count, predictor.Channels, predictor.ImageSize, [task.Name])[0]
                    : predictor.RunTorch(windows, count, [task])[0];
            }
        }
    }
}
