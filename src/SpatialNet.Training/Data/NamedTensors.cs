using SpatialNet.Training.Batching;
using System.Collections;
using System.Diagnostics.CodeAnalysis;
using static TorchSharp.torch;

namespace SpatialNet.Training.Data;

/// <summary>
/// Tensors by name, the torchgeo convention: <c>"image"</c>, <c>"label"</c>, <c>"question"</c>, …
/// (see <see cref="SampleKeys"/>), so transforms and task heads pick what they need. Owns its tensors:
/// replacing or removing one disposes it, and <see cref="Dispose"/> disposes all.
/// </summary>
public abstract class NamedTensors : IReadOnlyDictionary<string, Tensor>, IDisposable
{
    private readonly Dictionary<string, Tensor> _tensors = new(StringComparer.Ordinal);

    /// <summary>The tensor called <paramref name="key"/>.</summary>
    /// <exception cref="KeyNotFoundException">No such tensor; the message lists the names present.</exception>
    public Tensor this[string key] => _tensors.TryGetValue(key, out var t) ? t
        : throw new KeyNotFoundException($"No tensor named '{key}'; present: {string.Join(", ", _tensors.Keys.Order(StringComparer.Ordinal))}.");

    /// <inheritdoc/>
    public IEnumerable<string> Keys => _tensors.Keys;

    /// <inheritdoc/>
    public IEnumerable<Tensor> Values => _tensors.Values;

    /// <inheritdoc/>
    public int Count => _tensors.Count;

    /// <inheritdoc/>
    public bool ContainsKey(string key) => _tensors.ContainsKey(key);

    /// <inheritdoc/>
    public bool TryGetValue(string key, [MaybeNullWhen(false)] out Tensor value) => _tensors.TryGetValue(key, out value);

    /// <summary>Stores a tensor under a name, disposing the one it replaces (if a different object).</summary>
    public void Set(string key, Tensor value)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        if (_tensors.TryGetValue(key, out var old) && !ReferenceEquals(old, value)) old.Dispose();
        _tensors[key] = value;
    }

    /// <summary>Removes and disposes a tensor; false when absent.</summary>
    public bool Remove(string key)
    {
        if (!_tensors.Remove(key, out var old)) return false;
        old.Dispose();
        return true;
    }

    /// <summary>Removes a tensor without disposing it: the caller now owns it.</summary>
    /// <exception cref="KeyNotFoundException">No such tensor.</exception>
    public Tensor Take(string key)
    {
        var t = this[key];
        _tensors.Remove(key);
        return t;
    }

    /// <inheritdoc/>
    public IEnumerator<KeyValuePair<string, Tensor>> GetEnumerator() => _tensors.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Disposes every tensor held.</summary>
    public void Dispose()
    {
        foreach (var t in _tensors.Values) t.Dispose();
        _tensors.Clear();
        GC.SuppressFinalize(this);
    }
}

/// <summary>One example from a dataset: unbatched tensors by name (e.g. "image" uint8 [C, H, W]).</summary>
public sealed class Sample : NamedTensors
{
}

/// <summary>
/// A batch: tensors by name with a leading batch dimension, made by <see cref="BatchCollator"/>.
/// <see cref="Source"/> names the dataset it came from, so a multi-dataset trainer knows which tasks
/// the batch carries.
/// </summary>
public sealed class Batch : NamedTensors
{
    /// <summary>Name of the dataset the samples came from (null when unknown).</summary>
    public string? Source { get; init; }

    /// <summary>Number of samples (the leading dimension of every tensor).</summary>
    public int Size { get; init; }

    /// <summary>Moves every tensor to <paramref name="device"/> in place (no copy when already there).</summary>
    public Batch MoveTo(Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        foreach (var key in Keys.ToArray())
        {
            var t = this[key];
            if (t.device == device) continue;
            Set(key, t.to(device));
        }
        return this;
    }
}

/// <summary>The tensor names datasets in this library use.</summary>
public static class SampleKeys
{
    /// <summary>uint8 <c>[C, H, W]</c> (float after normalisation).</summary>
    public const string Image = "image";

    /// <summary>int64 scalar: class index (land use, land cover).</summary>
    public const string Label = "label";

    /// <summary>int64 <c>[L]</c>: caption token ids (with &lt;bos&gt;/&lt;eos&gt;).</summary>
    public const string Caption = "caption";

    /// <summary>int64 <c>[L]</c>: question token ids.</summary>
    public const string Question = "question";

    /// <summary>int64 scalar: answer index in the answer vocabulary (−100 when the answer is not in it).</summary>
    public const string Answer = "answer";

    /// <summary>int64 scalar: <see cref="RsvqaQuestionType"/> as an integer.</summary>
    public const string QuestionType = "question_type";

    /// <summary>float32 scalar: the raw number of a count question (NaN for other questions).</summary>
    public const string Count = "count";

    /// <summary>int64 scalar: the RSVQA-LR count bin (0–4, <see cref="Metrics.CountAnswerBins"/>) of a count question; −100 for other questions.</summary>
    public const string CountBin = "count_bin";

    /// <summary>
    /// bool scalar: false when geometric augmentation must not touch this sample's image (the RSVQA rule).
    /// In an image-deduplicated batch it is [U], one flag per row of <see cref="Image"/>.
    /// </summary>
    public const string AllowGeometric = "allow_geometric";

    /// <summary>int64 scalar: id of the sample's image; samples with the same id share one image (image-deduplicated batches).</summary>
    public const string ImageId = "image_id";

    /// <summary>int64 [B] in an image-deduplicated batch: the row of <see cref="Image"/> [U, C, H, W] each sample reads.</summary>
    public const string ImageIndex = Models.MultiTaskModel.ImageIndexInput;

    /// <summary>int64 <c>[H, W]</c>: class index per pixel (semantic segmentation); 255 where the pixel has no label.</summary>
    public const string Mask = "mask";

    /// <summary>float32 <c>[K, H, W]</c>: K values per pixel (pixel regression); NaN where the pixel has no value.</summary>
    public const string Values = "values";

    /// <summary>int64 scalar: the sample's index in its dataset, to find its record (references, ids) after batching.</summary>
    public const string Index = "index";
}
