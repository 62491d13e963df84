using SpatialNet.Training.Randomness;

namespace SpatialNet.Training.Data;

/// <summary>
/// A map-style dataset: a fixed number of samples, each a <see cref="Sample"/> of named tensors.
/// <see cref="GetSample"/> is deterministic (the same index gives the same tensors); randomness
/// belongs to samplers and batch transforms, which take seeds.
/// </summary>
public interface IDataset
{
    /// <summary>A short name (e.g. "ucm-caption/train"), used as <see cref="Batch.Source"/>.</summary>
    string Name { get; }

    /// <summary>Number of samples.</summary>
    int Count { get; }

    /// <summary>Builds sample <paramref name="index"/>; the caller disposes it.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is outside [0, Count).</exception>
    Sample GetSample(int index);
}

/// <summary>A view of some samples of another dataset, in the given order.</summary>
public sealed class SubsetDataset : IDataset
{
    private readonly int[] _indices;

    /// <summary>Creates the view.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An index is outside the parent's range.</exception>
    public SubsetDataset(IDataset parent, IEnumerable<int> indices, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(parent);
        ArgumentNullException.ThrowIfNull(indices);
        Parent = parent;
        _indices = indices.ToArray();
        var bad = _indices.Where(i => i < 0 || i >= parent.Count).Take(1).ToArray();
        if (bad.Length > 0)
            throw new ArgumentOutOfRangeException(nameof(indices), $"Index {bad[0]} is outside [0, {parent.Count}) of dataset '{parent.Name}'.");
        Name = name ?? parent.Name + "/subset";
    }

    /// <summary>The dataset viewed.</summary>
    public IDataset Parent { get; }

    /// <summary>The parent's indices, in this view's order.</summary>
    public IReadOnlyList<int> Indices => _indices;

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public int Count => _indices.Length;

    /// <inheritdoc/>
    public Sample GetSample(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, _indices.Length);
        return Parent.GetSample(_indices[index]);
    }
}

/// <summary>Index splits for datasets without official ones (e.g. UC Merced folders).</summary>
public static class DatasetSplits
{
    /// <summary>
    /// Splits indices 0..labels.Count−1 into parts with the given fractions, separately within each
    /// class (stratified), after a seeded shuffle. Per class, part k gets round(n·fraction_k) items
    /// (the last part takes the remainder), so every class is represented as evenly as integers allow.
    /// </summary>
    /// <exception cref="ArgumentException">Fractions are empty, negative, or sum to more than 1.</exception>
    public static int[][] Stratified(IReadOnlyList<int> labels, IReadOnlyList<double> fractions, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(fractions);
        if (fractions.Count == 0 || fractions.Any(f => f < 0) || fractions.Sum() > 1 + 1e-9)
            throw new ArgumentException($"Fractions must be non-negative and sum to at most 1; got [{string.Join(", ", fractions)}].", nameof(fractions));
        var parts = fractions.Select(_ => new List<int>()).ToArray();
        foreach (var group in Enumerable.Range(0, labels.Count).GroupBy(i => labels[i]).OrderBy(g => g.Key))
        {
            var members = group.ToArray();
            SeededRandom.From(seed, (ulong)(long)group.Key).Shuffle(members.AsSpan());
            var start = 0;
            for (var k = 0; k < fractions.Count; k++)
            {
                var take = k == fractions.Count - 1 && Math.Abs(fractions.Sum() - 1) < 1e-9
                    ? members.Length - start
                    : Math.Min(members.Length - start, (int)Math.Round(members.Length * fractions[k], MidpointRounding.AwayFromZero));
                parts[k].AddRange(members.AsSpan(start, take).ToArray());
                start += take;
            }
        }
        return parts.Select(p => p.Order().ToArray()).ToArray();
    }
}

/// <summary>
/// Facts about a sample that a batch plan reads without loading it: its group (RSVQA: the question
/// type, for per-group repeats) and its length (question tokens, for length-bucketed batches).
/// </summary>
internal interface ISampleMetadata
{
    /// <summary>The group of sample <paramref name="index"/>.</summary>
    string GroupOf(int index);

    /// <summary>The length of sample <paramref name="index"/>'s variable-length entry.</summary>
    int LengthOf(int index);
}
