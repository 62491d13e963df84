namespace SpatialNet.Training.Metrics;

/// <summary>
/// A confusion matrix over an ordered list of labels: <c>Counts[actual, predicted]</c>. Rows are the
/// expected (ground-truth) labels, columns the predicted ones.
/// </summary>
public sealed class ConfusionMatrix
{
    private readonly long[,] _counts;
    private readonly Dictionary<string, int> _index;

    /// <summary>Creates an empty matrix over the given labels.</summary>
    /// <param name="labels">Distinct labels, in row/column order.</param>
    /// <exception cref="ArgumentException">When labels repeat.</exception>
    public ConfusionMatrix(IEnumerable<string> labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        Labels = labels.ToArray();
        _index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < Labels.Count; i++)
        {
            if (!_index.TryAdd(Labels[i], i))
            {
                throw new ArgumentException($"Label '{Labels[i]}' appears twice.", nameof(labels));
            }
        }

        _counts = new long[Labels.Count, Labels.Count];
    }

    /// <summary>The labels, in row/column order.</summary>
    public IReadOnlyList<string> Labels { get; }

    /// <summary>Number of labels.</summary>
    public int Size => Labels.Count;

    /// <summary>How often <paramref name="actual"/> was predicted as <paramref name="predicted"/> (indices into <see cref="Labels"/>).</summary>
    /// <param name="actual">Row: the expected label's index.</param>
    /// <param name="predicted">Column: the predicted label's index.</param>
    public long this[int actual, int predicted] => _counts[actual, predicted];

    /// <summary>How often <paramref name="actual"/> was predicted as <paramref name="predicted"/>.</summary>
    /// <param name="actual">The expected label.</param>
    /// <param name="predicted">The predicted label.</param>
    public long this[string actual, string predicted] => _counts[IndexOf(actual), IndexOf(predicted)];

    /// <summary>Total number of counted pairs.</summary>
    public long Total
    {
        get
        {
            long t = 0;
            foreach (long c in _counts)
            {
                t += c;
            }

            return t;
        }
    }

    /// <summary>Index of a label.</summary>
    /// <param name="label">The label.</param>
    /// <returns>Its row/column index.</returns>
    /// <exception cref="ArgumentException">When the label is not in the matrix.</exception>
    public int IndexOf(string label) =>
        _index.TryGetValue(label, out int i)
            ? i
            : throw new ArgumentException($"Label '{label}' is not one of the matrix labels [{string.Join(", ", Labels.Take(20))}].", nameof(label));

    /// <summary>Counts one (expected, predicted) pair.</summary>
    /// <param name="actual">The expected label.</param>
    /// <param name="predicted">The predicted label.</param>
    public void Add(string actual, string predicted) => _counts[IndexOf(actual), IndexOf(predicted)]++;

    /// <summary>Counts one (expected, predicted) pair by index.</summary>
    /// <param name="actual">Row index.</param>
    /// <param name="predicted">Column index.</param>
    public void Add(int actual, int predicted) => _counts[actual, predicted]++;

    /// <summary>The matrix as a jagged array (rows = expected labels), e.g. for JSON output.</summary>
    /// <returns>A copy of the counts.</returns>
    public long[][] ToArray()
    {
        var rows = new long[Size][];
        for (int i = 0; i < Size; i++)
        {
            rows[i] = new long[Size];
            for (int j = 0; j < Size; j++)
            {
                rows[i][j] = _counts[i, j];
            }
        }

        return rows;
    }
}
