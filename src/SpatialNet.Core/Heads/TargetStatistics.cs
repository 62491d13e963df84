using static TorchSharp.torch;

namespace SpatialNet.Heads;

/// <summary>
/// Target statistics of a split, for baselines and target normalisation: class counts (overall and,
/// for VQA, per question type) or per-output mean and standard deviation (regression; for
/// multi-label the mean is each label's positive rate).
/// </summary>
public sealed class TargetStatistics
{
    private TargetStatistics(long count, IReadOnlyList<long>? classCounts, IReadOnlyDictionary<int, IReadOnlyList<long>>? byGroup,
        IReadOnlyList<double>? mean, IReadOnlyList<double>? std)
    {
        Count = count;
        ClassCounts = classCounts;
        ClassCountsByGroup = byGroup;
        Mean = mean;
        Std = std;
    }

    /// <summary>Number of targets counted.</summary>
    public long Count { get; }

    /// <summary>Occurrences of each class (classification, VQA answers), or null.</summary>
    public IReadOnlyList<long>? ClassCounts { get; }

    /// <summary>Occurrences of each class per group (VQA: per question type), or null.</summary>
    public IReadOnlyDictionary<int, IReadOnlyList<long>>? ClassCountsByGroup { get; }

    /// <summary>Mean of each output (regression) or positive rate of each label (multi-label), or null.</summary>
    public IReadOnlyList<double>? Mean { get; }

    /// <summary>Population standard deviation of each output, or null.</summary>
    public IReadOnlyList<double>? Std { get; }

    /// <summary>The most frequent class (lowest index on ties).</summary>
    /// <exception cref="InvalidOperationException">No class counts.</exception>
    public int MajorityClass => ClassCounts is { } c ? ArgMax(c) : throw new InvalidOperationException("These statistics hold no class counts.");

    /// <summary>The most frequent class of <paramref name="group"/>, or the overall one for an unseen group.</summary>
    public int MajorityClassOf(int group) =>
        ClassCountsByGroup is { } g && g.TryGetValue(group, out var counts) && counts.Sum() > 0 ? ArgMax(counts) : MajorityClass;

    /// <summary>Counts class labels (negative labels, "no target", are skipped), optionally per group.</summary>
    /// <param name="labels">Class indices.</param>
    /// <param name="classes">Number of classes.</param>
    /// <param name="groups">Group of each label (VQA question types), or null.</param>
    /// <exception cref="ArgumentException">A label ≥ <paramref name="classes"/>, or groups of another length.</exception>
    public static TargetStatistics FromClasses(IReadOnlyList<long> labels, int classes, IReadOnlyList<long>? groups = null)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(classes);
        if (groups is not null && groups.Count != labels.Count)
            throw new ArgumentException($"{groups.Count} groups for {labels.Count} labels.", nameof(groups));
        var counts = new long[classes];
        var byGroup = groups is null ? null : new Dictionary<int, long[]>();
        long n = 0;
        for (int i = 0; i < labels.Count; i++)
        {
            long label = labels[i];
            if (label < 0)
                continue;
            if (label >= classes)
                throw new ArgumentException($"Label {label} at position {i} is not a class index in [0, {classes}).", nameof(labels));
            counts[label]++;
            n++;
            if (byGroup is not null)
            {
                int g = (int)groups![i];
                if (!byGroup.TryGetValue(g, out var gc))
                    byGroup[g] = gc = new long[classes];
                gc[label]++;
            }
        }
        return new TargetStatistics(n, counts, byGroup?.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<long>)kv.Value), null, null);
    }

    /// <summary>Statistics from counts already summed (per-pixel targets: pixels per class, or value moments).</summary>
    internal static TargetStatistics FromSummary(long count, IReadOnlyList<long>? classCounts, IReadOnlyList<double>? mean, IReadOnlyList<double>? std) =>
        new(count, classCounts, null, mean, std);

    /// <summary>Per-output mean and population standard deviation of rows of values (NaN values are skipped).</summary>
    /// <exception cref="ArgumentException">No rows, or rows of different lengths.</exception>
    public static TargetStatistics FromValues(IReadOnlyList<IReadOnlyList<double>> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Count == 0)
            throw new ArgumentException("No target values to summarise.", nameof(rows));
        int k = rows[0].Count;
        var sum = new double[k];
        var sumSq = new double[k];
        var count = new long[k];
        foreach (var row in rows)
        {
            if (row.Count != k)
                throw new ArgumentException($"Target rows have {k} and {row.Count} values.", nameof(rows));
            for (int j = 0; j < k; j++)
            {
                if (double.IsNaN(row[j]))
                    continue;
                sum[j] += row[j];
                sumSq[j] += row[j] * row[j];
                count[j]++;
            }
        }
        var mean = new double[k];
        var std = new double[k];
        for (int j = 0; j < k; j++)
        {
            mean[j] = count[j] == 0 ? double.NaN : sum[j] / count[j];
            std[j] = count[j] == 0 ? double.NaN : Math.Sqrt(Math.Max(0, sumSq[j] / count[j] - mean[j] * mean[j]));
        }
        return new TargetStatistics(rows.Count, null, null, mean, std);
    }

    /// <summary>Statistics of a task's targets gathered batch by batch.</summary>
    /// <param name="kind">How the targets are read: class indices (classification, VQA) or values (regression, multi-label).</param>
    /// <param name="classes">Number of classes (classification, VQA).</param>
    public static Builder CreateBuilder(TaskKind kind, int classes = 0) => new(kind, classes);

    private static int ArgMax(IReadOnlyList<long> counts)
    {
        int best = 0;
        for (int i = 1; i < counts.Count; i++)
        {
            if (counts[i] > counts[best])
                best = i;
        }
        return best;
    }

    /// <summary>Gathers targets batch by batch (copies them to the host).</summary>
    public sealed class Builder
    {
        private readonly TaskKind _kind;
        private readonly int _classes;
        private readonly List<long> _labels = [];
        private readonly List<long> _groups = [];
        private readonly List<IReadOnlyList<double>> _rows = [];

        internal Builder(TaskKind kind, int classes)
        {
            _kind = kind;
            _classes = classes;
            if (IsClassKind && classes < 1)
                throw new ArgumentOutOfRangeException(nameof(classes), classes, $"A {kind} task needs its number of classes.");
        }

        private bool IsClassKind => _kind == TaskKind.Classification || _kind == TaskKind.VisualQuestionAnswering;

        /// <summary>Adds a batch of targets ([B] class indices, or [B] / [B, K] values) and, for VQA, the question types [B].</summary>
        public void Add(Tensor targets, Tensor? groups = null)
        {
            ArgumentNullException.ThrowIfNull(targets);
            using var scope = NewDisposeScope();
            if (IsClassKind)
            {
                _labels.AddRange(targets.reshape(-1).to(ScalarType.Int64).cpu().data<long>().ToArray());
                if (groups is not null)
                    _groups.AddRange(groups.reshape(-1).to(ScalarType.Int64).cpu().data<long>().ToArray());
                return;
            }
            var values = targets.to(ScalarType.Float64).cpu();
            long b = values.shape[0];
            var flat = values.reshape(b, -1).data<double>().ToArray();
            int k = (int)(b == 0 ? 0 : flat.Length / b);
            for (int i = 0; i < b; i++)
                _rows.Add(flat.AsSpan(i * k, k).ToArray());
        }

        /// <summary>The statistics of everything added.</summary>
        public TargetStatistics Build() => IsClassKind
            ? FromClasses(_labels, _classes, _groups.Count == _labels.Count && _groups.Count > 0 ? _groups : null)
            : FromValues(_rows);
    }
}
