using SpatialNet.Heads;
using SpatialNet.Models;
using SpatialNet.Modules;
using SpatialNet.Training.Imaging;
using SpatialNet.Training.Pipeline;
using TorchSharp;
using static TorchSharp.torch;

namespace SpatialNet.Training.Inference;

/// <summary>
/// A trained model ready to use, opened from a run folder (what <c>spatialnet train</c> writes):
/// per-image predictions (classification with class names and probabilities, regression in target
/// units, multi-label probabilities), answers to questions about an image (VQA) and captions (greedy
/// or beam search). Images are normalised exactly as in training (per-band statistics of the task's
/// training source).
/// </summary>
/// <remarks>
/// <para>
/// Thread safety: every call takes the predictor's lock, so one predictor may be shared by several
/// threads (calls run one at a time); run one predictor per thread or device for parallelism.
/// Requests with more images than <see cref="PredictorOptions.MaxBatchSize"/> are split into batches.
/// </para>
/// <para>
/// As an <see cref="IWindowModel"/> it maps whole GeoTIFF scenes with <see cref="SceneMapper"/>
/// (windows of <see cref="ImageSize"/>, its per-image tasks).
/// </para>
/// <para>
/// Input pixels are on the 8-bit scale of training (0–255); images (<see cref="LoadImage"/>, <see cref="Predict(RasterImage, IEnumerable{string}?)"/>)
/// are read with the run's bands and mapped there through its input range at their own precision (16-bit samples are not rounded to 8 bits). Per-image tasks run on
/// TorchSharp or on ONNX Runtime (<see cref="PredictorOptions.Backend"/>).
/// </para>
/// </remarks>
public sealed partial class Predictor : IWindowModel, IDisposable
{
    private readonly Lock _gate = new();
    private readonly RunFolder _run;
    private readonly MultiTaskModel _model;
    private readonly Device _device;
    private readonly PredictorOptions _options;
    private readonly Dictionary<int, (DeviceConstant Mean, DeviceConstant Std)> _normalization = [];
    private readonly OnnxRuntimeSession? _onnx;
    private bool _disposed;

    private Predictor(RunFolder run, MultiTaskModel model, Device device, PredictorOptions options, OnnxRuntimeSession? onnx)
    {
        _run = run;
        _model = model;
        _device = device;
        _options = options;
        _onnx = onnx;
        for (int i = 0; i < run.Sources.Count; i++)
        {
            if (run.Sources[i] is { Mean: { } mean, Std: { } std })
                _normalization[i] = (new DeviceConstant(mean), new DeviceConstant(std));
        }
        Tasks = run.Tasks.Select(t => new PredictorTask(t.Name, t.Kind, t.Task.Labels, t.Kind switch
        {
            var kind_ when kind_ == TaskKind.Classification || kind_ == TaskKind.VisualQuestionAnswering => TrainingPipeline.Classes(t.Task),
            var kind_ when kind_ == TaskKind.Captioning => 0,
            _ => TrainingPipeline.Outputs(t.Task),
        })).ToArray();
    }

    /// <summary>Every task of the model, in head order.</summary>
    public IReadOnlyList<PredictorTask> Tasks { get; }

    /// <summary>The per-image tasks (classification, regression, multi-label) that <see cref="Predict(IReadOnlyList{RasterImage}, IEnumerable{string}?)"/> serves.</summary>
    public IReadOnlyList<PredictorTask> ImageTasks => Tasks.Where((t, i) => IsImageTask(_run.Tasks[i])).ToArray();

    /// <summary>Image side the model was trained on (images are resized to it).</summary>
    public int ImageSize => _run.Config.Model.ImageSize;

    /// <summary>Bands per image.</summary>
    public int Channels => _run.Config.Model.InChannels;

    /// <inheritdoc/>
    int IWindowModel.WindowSize => ImageSize;

    /// <summary>The run's bands (zero-based), so a scene is read as the training images were; null: every band.</summary>
    IReadOnlyList<int>? IWindowModel.SceneBands => _run.ImageOptions.SelectBands;

    /// <summary>The run's input range.</summary>
    IReadOnlyList<(double Low, double High)>? IWindowModel.SceneInputRange => _run.ImageOptions.InputRange;

    /// <inheritdoc/>
    IReadOnlyList<WindowTask> IWindowModel.Tasks => _run.Tasks.Where(IsImageTask).Select(t => new WindowTask(t.Name, t.HeadKind,
        Tasks[IndexOf(t.Name)] is { Labels: { } labels } pt && labels.Count == pt.Outputs
            ? labels
            : Enumerable.Range(0, Width(t)).Select(i => (t.HeadKind == TaskKind.Regression ? "value_" : "class_") + i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray())).ToArray();

    /// <inheritdoc/>
    /// <remarks>The mapper's buffer may hold more than <paramref name="count"/> windows; the rest is ignored.</remarks>
    IReadOnlyDictionary<string, float[]> IWindowModel.Run(ReadOnlySpan<float> windows, int count)
    {
        long length = (long)count * Channels * ImageSize * ImageSize;
        if (count < 0 || windows.Length < length)
            throw new ArgumentException($"Expected {count} windows of {Channels}×{ImageSize}×{ImageSize} floats ({length}); got {windows.Length}.", nameof(windows));
        return Predict(windows[..(int)length], count).Outputs;
    }

    /// <summary>The run folder the predictor was opened from.</summary>
    public string RunDirectory => _run.Directory;

    /// <summary>The engine of the per-image tasks.</summary>
    public InferenceBackend Backend => _onnx is null ? InferenceBackend.TorchSharp : InferenceBackend.OnnxRuntime;

    /// <summary>The model (on the predictor's device, in evaluation mode). Not to be called concurrently with the predictor.</summary>
    internal MultiTaskModel Model => _model;

    /// <summary>The run folder's contents.</summary>
    internal RunFolder Run => _run;

    /// <summary>Opens the run folder <paramref name="runDirectory"/>: its configuration, data description and weights.</summary>
    /// <exception cref="SpatialNet.DatasetFileNotFoundException">The folder or one of its files is missing.</exception>
    /// <exception cref="SpatialNet.DatasetFormatException"><c>data.json</c> lacks a field inference needs (named).</exception>
    /// <exception cref="SpatialNet.DependencyInjection.ConfigurationException">The configuration is invalid, or CUDA is asked for and not available.</exception>
    /// <exception cref="Weights.WeightLoadException">The weights do not match the model.</exception>
    public static Predictor Open(string runDirectory, PredictorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(runDirectory);
        options ??= new PredictorOptions();
        options.Validate();
        Runtime.TorchNativeRuntime.EnsureInitialized();
        var run = RunFolder.Open(runDirectory);
        var device = TrainingPipeline.ResolveDevice(options.Device);
        var model = run.CreateModel();
        try
        {
            TrainingPipeline.LoadWeights(model, options.WeightsPath ?? run.WeightsPath);
            model.eval();
            model.to(device);
            OnnxRuntimeSession? onnx = options.Backend == InferenceBackend.OnnxRuntime
                ? OnnxRuntimeSession.Create(options.OnnxModelPath is { } path ? File.ReadAllBytes(path) : OnnxExporter.ToBytes(run, model, null), options.OnnxThreads)
                : null;
            return new Predictor(run, model, device, options, onnx);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Per-image tasks of <paramref name="count"/> images given as pixels [count, C, S, S] (row-major,
    /// S = <see cref="ImageSize"/>) on the 8-bit scale (0–255). The batch call for tiles and windows.
    /// </summary>
    /// <param name="pixels">count·C·S·S values.</param>
    /// <param name="count">Images.</param>
    /// <param name="tasks">Tasks to run; null runs every per-image task.</param>
    /// <exception cref="ArgumentException">Wrong length, or a task that is not a per-image task.</exception>
    public PredictionBatch Predict(ReadOnlySpan<float> pixels, int count, IEnumerable<string>? tasks = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        long per = (long)Channels * ImageSize * ImageSize;
        if (pixels.Length != count * per)
            throw new ArgumentException($"{pixels.Length} pixel values for {count} images of [{Channels}, {ImageSize}, {ImageSize}] (need {count * per}).", nameof(pixels));
        var selected = SelectImageTasks(tasks);
        var outputs = selected.ToDictionary(t => t.Name, t => new float[count * Width(t)], StringComparer.Ordinal);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            for (int start = 0; start < count; start += _options.MaxBatchSize)
            {
                int n = Math.Min(_options.MaxBatchSize, count - start);
                // Copied straight into native memory: no managed array per batch on long scene maps.
                var chunk = pixels.Slice((int)(start * per), (int)(n * per));
                var results = _onnx is not null ? _onnx.Run(chunk, n, Channels, ImageSize, selected.Select(t => t.Name).ToArray()) : RunTorch(chunk, n, selected);
                for (int i = 0; i < selected.Count; i++)
                    results[i].CopyTo(outputs[selected[i].Name], start * Width(selected[i]));
            }
        }
        return new PredictionBatch(count, selected.Select(t => Tasks[IndexOf(t.Name)]).ToArray(), outputs);
    }

    /// <summary>As <see cref="Predict(ReadOnlySpan{float}, int, IEnumerable{string}?)"/> for 8-bit pixels.</summary>
    public PredictionBatch Predict(ReadOnlySpan<byte> pixels, int count, IEnumerable<string>? tasks = null)
    {
        var values = new float[pixels.Length];
        for (int i = 0; i < values.Length; i++)
            values[i] = pixels[i];
        return Predict(values, count, tasks);
    }

    /// <summary>Per-image tasks of <paramref name="images"/> (each scaled to 8 bits and resized to <see cref="ImageSize"/> when needed).</summary>
    /// <exception cref="ArgumentException">An image with another band count than the model's.</exception>
    public PredictionBatch Predict(IReadOnlyList<RasterImage> images, IEnumerable<string>? tasks = null)
    {
        ArgumentNullException.ThrowIfNull(images);
        long per = (long)Channels * ImageSize * ImageSize;
        var pixels = new float[images.Count * per];
        for (int i = 0; i < images.Count; i++)
        {
            Scaled(Prepare(images[i], $"images[{i}]")).CopyTo(pixels, i * per);
        }
        return Predict(pixels, images.Count, tasks);
    }

    /// <summary>Per-image tasks of one image: task name → prediction.</summary>
    public IReadOnlyDictionary<string, TaskPrediction> Predict(RasterImage image, IEnumerable<string>? tasks = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        return Predict([image], tasks)[0];
    }

    /// <summary>Answers <paramref name="question"/> about <paramref name="image"/> with the run's vqa task (<paramref name="task"/>, or the only one).</summary>
    /// <exception cref="InvalidOperationException">The model has no vqa task, or several and none is named.</exception>
    public AnswerPrediction Answer(RasterImage image, string question, string? task = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(question);
        var t = FindTask(task, TaskKind.VisualQuestionAnswering);
        var source = _run.Sources[t.SourceIndex];
        var answers = source.Answers ?? throw new InvalidOperationException($"Task '{t.Name}': the run has no answer vocabulary.");
        var head = _model.Head(t.Name);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var images = Normalised(ImageTensor(image), t.SourceIndex);
            var inputs = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            if (head is VqaHead vqa)
            {
                var ids = _run.Sources[t.SourceIndex].Questions!.Encode(question);
                inputs[vqa.QuestionInput] = tensor(ids, [1, ids.Length], ScalarType.Int64).to(_device);
            }
            var raw = _model.Forward(images, inputs, [t.Name])[t.Name];
            var output = head.Predict(raw).to(ScalarType.Float32).cpu();
            var probabilities = output.narrow(1, 0, answers.Count).reshape(-1).data<float>().ToArray();
            float? count = head is VqaHead { HasCountBranch: true } ? output[0, answers.Count].item<float>() : null;
            int best = 0;
            for (int i = 1; i < probabilities.Length; i++)
            {
                if (probabilities[i] > probabilities[best])
                    best = i;
            }
            return new AnswerPrediction(answers.Decode(best), probabilities[best], probabilities, count);
        }
    }

    /// <summary>
    /// A caption of <paramref name="image"/> from the run's caption task (<paramref name="task"/>, or the only one):
    /// greedy with <paramref name="beamWidth"/> 1, beam search with more, the task's configured decoding when null.
    /// </summary>
    /// <exception cref="InvalidOperationException">The model has no caption task, or several and none is named.</exception>
    public string Caption(RasterImage image, int? beamWidth = null, string? task = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (beamWidth is < 1)
            throw new ArgumentOutOfRangeException(nameof(beamWidth), beamWidth, "beamWidth must be 1 (greedy) or more, or null.");
        var t = FindTask(task, TaskKind.Captioning);
        var head = (CaptionHead)_model.Head(t.Name);
        var decoding = head.Decoding;
        if (beamWidth is int beams)
            decoding.BeamWidth = beams;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var tokens = _model.Encoder.ForwardTokens(Normalised(ImageTensor(image), t.SourceIndex));
            var decoded = head.Generate(tokens, decoding);
            return _run.Sources[t.SourceIndex].Captions!.Decode(decoded.Tokens[0]);
        }
    }

    /// <summary>Reads an image file (TIFF, PNG, JPEG) as the run was trained: its bands, at the file's precision, resized to <see cref="ImageSize"/>.</summary>
    /// <exception cref="ImageDecodeException">The file cannot be decoded or has another band count than the model's.</exception>
    public RasterImage LoadImage(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
            throw new SpatialNet.DatasetFileNotFoundException(path, null, "image not found.");
        return ImageCache.Prepare(ImageDecoder.Decode(path), path, _run.ImageOptions);
    }

    /// <summary>Frees the model, the ONNX Runtime session and the normalisation constants.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
                return;
            _disposed = true;
            _onnx?.Dispose();
            foreach (var (mean, std) in _normalization.Values)
            {
                mean.Dispose();
                std.Dispose();
            }
            _model.Dispose();
        }
    }

    private static bool IsImageTask(RunFolder.RunTask t) =>
        (t.HeadKind == TaskKind.Classification || t.HeadKind == TaskKind.Regression || t.HeadKind == TaskKind.MultiLabel);

    private int IndexOf(string name)
    {
        for (int i = 0; i < _run.Tasks.Count; i++)
        {
            if (_run.Tasks[i].Name == name)
                return i;
        }
        return -1;
    }

    private int Width(RunFolder.RunTask t) => Tasks[IndexOf(t.Name)].Outputs;

    private List<RunFolder.RunTask> SelectImageTasks(IEnumerable<string>? names)
    {
        if (names is null)
        {
            var all = _run.Tasks.Where(IsImageTask).ToList();
            return all.Count > 0 ? all : throw new InvalidOperationException(
                $"The model has no per-image task (classification, regression, multi-label); its tasks: {string.Join(", ", _run.Tasks.Select(t => $"{t.Name} ({t.Kind})"))}.");
        }
        var selected = new List<RunFolder.RunTask>();
        foreach (var name in names.Distinct(StringComparer.Ordinal))
        {
            var t = _run.Tasks.FirstOrDefault(x => x.Name == name)
                ?? throw new ArgumentException($"The model has no task '{name}'; its tasks: {string.Join(", ", _run.Tasks.Select(x => x.Name))}.", nameof(names));
            if (!IsImageTask(t))
                throw new ArgumentException($"Task '{name}' ({t.Kind}) is not a per-image task; use Answer for vqa and Caption for caption tasks.", nameof(names));
            selected.Add(t);
        }
        return selected;
    }

    private RunFolder.RunTask FindTask(string? name, TaskKind kind)
    {
        var candidates = _run.Tasks.Where(t => t.Kind == kind).ToArray();
        if (name is not null)
        {
            return candidates.FirstOrDefault(t => t.Name == name) ?? throw new InvalidOperationException(
                $"The model has no {kind} task '{name}'; its {kind} tasks: {(candidates.Length == 0 ? "none" : string.Join(", ", candidates.Select(t => t.Name)))}.");
        }
        return candidates.Length switch
        {
            1 => candidates[0],
            0 => throw new InvalidOperationException($"The model has no {kind} task; its tasks: {string.Join(", ", _run.Tasks.Select(t => $"{t.Name} ({t.Kind})"))}."),
            _ => throw new InvalidOperationException($"The model has several {kind} tasks ({string.Join(", ", candidates.Select(t => t.Name))}); name one."),
        };
    }

    // One forward pass per normalisation (tasks of different sources saw differently normalised images).
    private float[][] RunTorch(ReadOnlySpan<float> pixels, int count, List<RunFolder.RunTask> tasks)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var host = empty([count, Channels, ImageSize, ImageSize], ScalarType.Float32);
        host.bytes = System.Runtime.InteropServices.MemoryMarshal.CreateSpan(
            ref System.Runtime.InteropServices.MemoryMarshal.GetReference(System.Runtime.InteropServices.MemoryMarshal.AsBytes(pixels)), pixels.Length * sizeof(float));
        var x = host.to(_device);
        var results = new float[tasks.Count][];
        foreach (var group in tasks.Select((t, i) => (t, i)).GroupBy(x => x.t.SourceIndex))
        {
            var raw = _model.Forward(Normalised(x, group.Key), null, group.Select(g => g.t.Name));
            foreach (var (t, i) in group)
                results[i] = _model.Head(t.Name).Predict(raw[t.Name]).to(ScalarType.Float32).cpu().reshape(-1).data<float>().ToArray();
        }
        return results;
    }

    // 8-bit-scale pixels → the training input: x/255, then (x − mean)/std with the source's statistics.
    private Tensor Normalised(Tensor pixels, int source)
    {
        var unit = pixels.to(ScalarType.Float32).div(255.0f);
        if (!_normalization.TryGetValue(source, out var n))
            return unit;
        return unit.sub(n.Mean.Like(unit).view(-1, 1, 1)).div_(n.Std.Like(unit).view(-1, 1, 1));
    }

    private Tensor ImageTensor(RasterImage image) =>
        tensor(Scaled(Prepare(image, "image")), [1, Channels, ImageSize, ImageSize]).to(_device);

    // Resized at the image's own precision.
    private RasterImage Prepare(RasterImage image, string name)
    {
        ArgumentNullException.ThrowIfNull(image, name);
        if (image.Channels != Channels)
            throw new ArgumentException($"{name} has {image.Channels} bands; the model takes {Channels}.", name);
        return image.Height == ImageSize && image.Width == ImageSize ? image : ImageResampler.Resize(image, ImageSize, ImageSize);
    }

    // The 0–255 scale the model takes: 8-bit samples as they are, others (or any with the run's input range) through the
    // range to [0, 1], times 255, unrounded.
    private float[] Scaled(RasterImage image)
    {
        var range = _run.ImageOptions.InputRange;
        if (image.Pixels8 is { } bytes && range is null)
            return Array.ConvertAll(bytes, b => (float)b);
        var unit = image.ToUnitValues(range);
        for (int i = 0; i < unit.Length; i++)
            unit[i] *= 255f;
        return unit;
    }
}
