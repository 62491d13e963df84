using SpatialNet.Training.Data;
using static TorchSharp.torch;

namespace SpatialNet.Training.Batching;

/// <summary>
/// Stacks samples into a <see cref="Batch"/>: tensors with the same name and shape are stacked along a
/// new leading dimension; 1-D integer tensors of different lengths (token ids) are right-padded with
/// <see cref="PadValue"/> (the &lt;pad&gt; id, 0) to the longest. Every sample must carry the same names.
/// </summary>
public sealed class BatchCollator
{
    /// <summary>Creates a collator.</summary>
    /// <param name="padValue">Value that pads token sequences (default 0 = &lt;pad&gt;).</param>
    public BatchCollator(long padValue = 0) => PadValue = padValue;

    /// <summary>Value that pads token sequences.</summary>
    public long PadValue { get; }

    /// <summary>Stacks the samples (which stay owned by the caller) into a new batch.</summary>
    /// <exception cref="ArgumentException">No samples, differing names, or shapes that cannot be stacked
    /// (the message names the tensor, the sample and both shapes).</exception>
    public Batch Collate(IReadOnlyList<Sample> samples, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(samples);
        if (samples.Count == 0) throw new ArgumentException("Cannot collate an empty list of samples.", nameof(samples));
        var keys = samples[0].Keys.Order(StringComparer.Ordinal).ToArray();
        for (var i = 1; i < samples.Count; i++)
        {
            var other = samples[i].Keys.Order(StringComparer.Ordinal).ToArray();
            if (!keys.SequenceEqual(other))
                throw new ArgumentException($"Sample {i} has tensors [{string.Join(", ", other)}]; sample 0 has [{string.Join(", ", keys)}]. Every sample of a batch must carry the same names.", nameof(samples));
        }
        var batch = new Batch { Source = source, Size = samples.Count };
        try
        {
            foreach (var key in keys) batch.Set(key, Stack(samples, key));
        }
        catch
        {
            batch.Dispose();
            throw;
        }
        return batch;
    }

    private Tensor Stack(IReadOnlyList<Sample> samples, string key)
    {
        var first = samples[0][key];
        var sameShape = samples.All(s => s[key].shape.SequenceEqual(first.shape));
        if (sameShape) return stack(samples.Select(s => s[key]).ToArray());

        var isTokenSequence = first.dim() == 1 && !first.is_floating_point() && first.dtype != ScalarType.Bool
            && samples.All(s => s[key].dim() == 1 && s[key].dtype == first.dtype);
        if (!isTokenSequence)
        {
            var odd = samples.Select((s, i) => (s, i)).First(p => !p.s[key].shape.SequenceEqual(first.shape));
            throw new ArgumentException(
                $"Tensor '{key}' of sample {odd.i} has shape [{string.Join(", ", odd.s[key].shape)}]; sample 0 has [{string.Join(", ", first.shape)}]. " +
                (key == SampleKeys.Image ? "Images of different sizes cannot be stacked: set ImageLoadOptions.Height/Width to cache them at one size." : "Only 1-D integer sequences are padded."));
        }
        var length = samples.Max(s => s[key].shape[0]);
        var result = full([samples.Count, length], PadValue, dtype: first.dtype, device: first.device);
        for (var i = 0; i < samples.Count; i++)
        {
            var t = samples[i][key];
            if (t.shape[0] == 0) continue;
            using var row = result[i];
            using var target = row.narrow(0, 0, t.shape[0]);
            target.copy_(t);
        }
        return result;
    }
}
