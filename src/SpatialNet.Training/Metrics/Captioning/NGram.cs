namespace SpatialNet.Training.Metrics.Captioning;

/// <summary>An n-gram of tokens with value equality, used as a dictionary key by BLEU and CIDEr.</summary>
internal readonly struct NGram : IEquatable<NGram>
{
    private readonly string[] _words;
    private readonly int _start;
    private readonly int _hash;

    public NGram(string[] words, int start, int order)
    {
        _words = words;
        _start = start;
        Order = order;
        var h = new HashCode();
        for (int i = 0; i < order; i++)
        {
            h.Add(words[start + i], StringComparer.Ordinal);
        }

        _hash = h.ToHashCode();
    }

    public int Order { get; }

    public bool Equals(NGram other)
    {
        if (Order != other.Order || _hash != other._hash)
        {
            return false;
        }

        for (int i = 0; i < Order; i++)
        {
            if (!string.Equals(_words[_start + i], other._words[other._start + i], StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    public override bool Equals(object? obj) => obj is NGram g && Equals(g);

    public override int GetHashCode() => _hash;

    public override string ToString() => string.Join(' ', _words, _start, Order);

    /// <summary>
    /// Counts the n-grams of orders 1..maxOrder in first-occurrence order (all unigrams, then all
    /// bigrams, …), which is the iteration order of the reference code's counting dictionary.
    /// </summary>
    public static List<KeyValuePair<NGram, int>> Count(string[] words, int maxOrder)
    {
        var index = new Dictionary<NGram, int>();
        var counts = new List<KeyValuePair<NGram, int>>();
        for (int k = 1; k <= maxOrder; k++)
        {
            for (int i = 0; i + k <= words.Length; i++)
            {
                var gram = new NGram(words, i, k);
                if (index.TryGetValue(gram, out int at))
                {
                    counts[at] = new KeyValuePair<NGram, int>(gram, counts[at].Value + 1);
                }
                else
                {
                    index[gram] = counts.Count;
                    counts.Add(new KeyValuePair<NGram, int>(gram, 1));
                }
            }
        }

        return counts;
    }
}
