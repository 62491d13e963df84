namespace SpatialNet.Training.Text;

/// <summary>
/// Token ↔ id map with four special tokens at fixed ids: <c>&lt;pad&gt;</c> = 0 (so zero-filled
/// padding is padding), <c>&lt;bos&gt;</c> = 1, <c>&lt;eos&gt;</c> = 2, <c>&lt;unk&gt;</c> = 3;
/// words follow from id 4, most frequent first (ties in ordinal order), so a vocabulary built from
/// the same text is the same on every machine.
/// </summary>
public sealed class Vocabulary
{
    /// <summary>Padding token.</summary>
    public const string PadToken = "<pad>";

    /// <summary>Start-of-sequence token.</summary>
    public const string BosToken = "<bos>";

    /// <summary>End-of-sequence token.</summary>
    public const string EosToken = "<eos>";

    /// <summary>Out-of-vocabulary token.</summary>
    public const string UnkToken = "<unk>";

    /// <summary>Id of &lt;pad&gt;.</summary>
    public const int PadId = 0;

    /// <summary>Id of &lt;bos&gt;.</summary>
    public const int BosId = 1;

    /// <summary>Id of &lt;eos&gt;.</summary>
    public const int EosId = 2;

    /// <summary>Id of &lt;unk&gt;.</summary>
    public const int UnkId = 3;

    /// <summary>The special tokens in id order.</summary>
    public static IReadOnlyList<string> SpecialTokens { get; } = [PadToken, BosToken, EosToken, UnkToken];

    private readonly string[] _tokens;
    private readonly Dictionary<string, int> _ids;

    /// <summary>Creates a vocabulary from its full token list (specials first, as <see cref="Tokens"/> returns it).</summary>
    /// <exception cref="ArgumentException">The specials are not at ids 0–3, or a token repeats or is empty.</exception>
    public Vocabulary(IEnumerable<string> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        _tokens = tokens.ToArray();
        if (_tokens.Length < SpecialTokens.Count || !_tokens.Take(SpecialTokens.Count).SequenceEqual(SpecialTokens))
            throw new ArgumentException($"The token list must start with {string.Join(", ", SpecialTokens)}.", nameof(tokens));
        _ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < _tokens.Length; i++)
        {
            if (string.IsNullOrEmpty(_tokens[i])) throw new ArgumentException($"Token {i} is empty.", nameof(tokens));
            if (!_ids.TryAdd(_tokens[i], i)) throw new ArgumentException($"Token '{_tokens[i]}' appears twice (ids {_ids[_tokens[i]]} and {i}).", nameof(tokens));
        }
    }

    /// <summary>
    /// Builds a vocabulary from token sequences: words seen at least <paramref name="minCount"/> times,
    /// at most <paramref name="maxSize"/> ids in all (specials included), most frequent first.
    /// </summary>
    public static Vocabulary Build(IEnumerable<IEnumerable<string>> sequences, int minCount = 1, int? maxSize = null)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        if (minCount < 1) throw new ArgumentOutOfRangeException(nameof(minCount), $"minCount must be ≥ 1; got {minCount}.");
        if (maxSize is < 4) throw new ArgumentOutOfRangeException(nameof(maxSize), $"maxSize must be ≥ 4 (the special tokens); got {maxSize}.");
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var sequence in sequences)
            foreach (var token in sequence)
                if (!string.IsNullOrEmpty(token)) counts[token] = counts.GetValueOrDefault(token) + 1;
        var words = counts.Where(kv => kv.Value >= minCount && !SpecialTokens.Contains(kv.Key))
            .OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => kv.Key);
        if (maxSize is { } max) words = words.Take(max - SpecialTokens.Count);
        return new Vocabulary(SpecialTokens.Concat(words));
    }

    /// <summary>All tokens in id order.</summary>
    public IReadOnlyList<string> Tokens => _tokens;

    /// <summary>Number of ids (specials included).</summary>
    public int Count => _tokens.Length;

    /// <summary>The id of <paramref name="token"/>, or <see cref="UnkId"/>.</summary>
    public int IdOf(string token) => _ids.TryGetValue(token, out var id) ? id : UnkId;

    /// <summary>Whether <paramref name="token"/> has its own id.</summary>
    public bool Contains(string token) => _ids.ContainsKey(token);

    /// <summary>The token with id <paramref name="id"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">No such id.</exception>
    public string TokenOf(int id)
    {
        if (id < 0 || id >= _tokens.Length) throw new ArgumentOutOfRangeException(nameof(id), $"Id {id} is outside [0, {_tokens.Length}).");
        return _tokens[id];
    }
}
