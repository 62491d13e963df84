using System.Runtime.InteropServices;
using SpatialNet.Heads;
using SpatialNet.Models;
using SpatialNet.Training.Imaging;
using static TorchSharp.torch;

namespace SpatialNet.Training.Inference;

/// <summary>
/// <see cref="IWindowModel"/> over a <see cref="MultiTaskModel"/>: windows are divided by 255,
/// normalised with the training statistics, encoded once, and each classification, multi-label and
/// regression head's <see cref="TaskHead.Predict"/> output is returned. The model is put in eval mode.
/// </summary>
public sealed class MultiTaskWindowModel : IWindowModel
{
    private readonly MultiTaskModel _model;
    private readonly float[]? _mean;
    private readonly float[]? _std;
    private readonly Device _device;
    private readonly Tensor? _meanTensor;
    private readonly Tensor? _stdTensor;
    private readonly TorchSharp.Scalar _inverse255 = TorchSharp.ScalarExtensionMethods.ToScalar(1f / 255f);

    /// <param name="model">The trained model (on <paramref name="device"/>).</param>
    /// <param name="channels">Bands the model was trained on.</param>
    /// <param name="windowSize">The model's input size.</param>
    /// <param name="statistics">Training normalisation statistics, or null when training used none.</param>
    /// <param name="labels">Task → value names (e.g. class names); tasks not given get <c>class_0…</c> or <c>value_0…</c>.</param>
    /// <param name="device">Device the model is on (default CPU).</param>
    public MultiTaskWindowModel(MultiTaskModel model, int channels, int windowSize, NormalizationStatistics? statistics = null,
        IReadOnlyDictionary<string, IReadOnlyList<string>>? labels = null, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(windowSize);
        if (statistics is not null && statistics.Mean.Count != channels)
            throw new ArgumentException($"The normalisation statistics have {statistics.Mean.Count} bands; the model takes {channels}.", nameof(statistics));
        _model = model;
        _model.eval();
        _device = device ?? CPU;
        _mean = statistics?.Mean.Select(m => (float)m).ToArray();
        _std = statistics?.Std.Select(s => (float)s).ToArray();
        // Held for the model's lifetime (not in any dispose scope).
        _meanTensor = _mean is null ? null : tensor(_mean).view(-1, 1, 1).DetachFromDisposeScope();
        _stdTensor = _std is null ? null : tensor(_std).view(-1, 1, 1).DetachFromDisposeScope();
        Channels = channels;
        WindowSize = windowSize;
        var tasks = new List<WindowTask>();
        foreach (var name in model.TaskNames)
        {
            var head = model.Head(name);
            var (width, prefix) = head switch
            {
                ClassificationHead c => (c.NumClasses, "class_"),
                MultiLabelHead m => (m.NumLabels, "label_"),
                RegressionHead r => (r.Outputs, "value_"),
                _ => (0, ""),
            };
            if (width == 0) continue;
            var names = labels is not null && labels.TryGetValue(name, out var given) ? given : Enumerable.Range(0, width).Select(i => prefix + i).ToArray();
            if (names.Count != width)
                throw new ArgumentException($"Task '{name}' has {width} outputs but {names.Count} names were given.", nameof(labels));
            tasks.Add(new WindowTask(name, head.Kind, names));
        }
        if (tasks.Count == 0)
            throw new ArgumentException($"The model has no classification, multi-label or regression task to map; its tasks: {string.Join(", ", model.TaskNames)}.", nameof(model));
        Tasks = tasks;
    }

    /// <inheritdoc/>
    public int Channels { get; }

    /// <inheritdoc/>
    public int WindowSize { get; }

    /// <inheritdoc/>
    public IReadOnlyList<WindowTask> Tasks { get; }

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, float[]> Run(ReadOnlySpan<float> windows, int count)
    {
        var length = (long)count * Channels * WindowSize * WindowSize;
        if (count <= 0 || windows.Length < length)
            throw new ArgumentException($"Expected {count} windows of {Channels}×{WindowSize}×{WindowSize} floats ({length}); got {windows.Length}.", nameof(windows));
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        // Copied straight into a native tensor: a managed array per batch would be a large-object
        // allocation, and the garbage collections it triggers finalise TorchSharp's temporary Scalars
        // while native calls still use them (a TorchSharp race seen as "Unknown scalar type").
        var x = empty([count, Channels, WindowSize, WindowSize], ScalarType.Float32);
        // The setter only reads the span; it is typed writable.
        x.bytes = MemoryMarshal.AsBytes(MemoryMarshal.CreateSpan(ref MemoryMarshal.GetReference(windows), (int)length));
        x = x.to(_device).mul_(_inverse255);
        if (_mean is not null)
            x = x.sub_(_meanTensor!.to(_device)).div_(_stdTensor!.to(_device));
        var raw = _model.Forward(x, tasks: Tasks.Select(t => t.Name));
        var result = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (var task in Tasks)
        {
            using var predicted = _model.Head(task.Name).Predict(raw[task.Name]);
            result[task.Name] = predicted.to(ScalarType.Float32).reshape(count, -1).cpu().data<float>().ToArray();
        }
        return result;
    }
}
