namespace SpatialNet.Training.Metrics.Meteor;

/// <summary>
/// Where Meteor's <c>synonym</c> module gets its synonym sets. Two words are synonym candidates when
/// their sets intersect and the words differ.
/// </summary>
public interface IMeteorSynonymSource
{
    /// <summary>
    /// The synset ids Meteor associates with a lowercased word: the synsets of the word itself plus
    /// those of its base form(s).
    /// </summary>
    /// <param name="word">A lowercased token.</param>
    /// <returns>The synset ids (empty when the word is unknown).</returns>
    IReadOnlySet<int> SynsetsOf(string word);
}

/// <summary>
/// WordNet 3.0 synonym data in the layout Meteor 1.5 ships it (<c>synonym/english.synsets</c> and
/// <c>synonym/english.exceptions</c> inside <c>meteor-1.5.jar</c>), looked up the way Meteor does:
/// the word's own synsets, plus the synsets of its irregular base forms from the exceptions file or,
/// when it has none, of the first WordNet "morphy" suffix rewrite that is a known word.
/// </summary>
/// <remarks>
/// File formats (UTF-8, lines in pairs):
/// <list type="bullet">
/// <item><description>synsets file: a line with a word, then a line with its synset ids (integers separated by whitespace);</description></item>
/// <item><description>exceptions file: a line with a base form, then a line with its inflected forms separated by whitespace
/// (e.g. <c>be</c> / <c>am are is was were been being</c>).</description></item>
/// </list>
/// SpatialNet ships no WordNet data: the user supplies these files (e.g. extracted from
/// <c>meteor-1.5.jar</c>, or generated from WordNet 3.0 in this layout).
/// </remarks>
public sealed class WordNetSynonymDictionary : IMeteorSynonymSource
{
    // WordNet 3.0's morphological suffix rules (noun, verb, adjective), tried in this order.
    private static readonly (string Suffix, string Ending)[] MorphRules =
    [
        ("s", ""), ("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"), ("men", "man"), ("ies", "y"),
        ("s", ""), ("ies", "y"), ("es", "e"), ("es", ""), ("ed", "e"), ("ed", ""), ("ing", "e"), ("ing", ""),
        ("er", ""), ("est", ""), ("er", "e"), ("est", "e"),
    ];

    private static readonly IReadOnlySet<int> Empty = new HashSet<int>();

    private readonly Dictionary<string, HashSet<int>> _synsets;
    private readonly Dictionary<string, List<string>> _bases;

    private WordNetSynonymDictionary(Dictionary<string, HashSet<int>> synsets, Dictionary<string, List<string>> bases)
    {
        _synsets = synsets;
        _bases = bases;
    }

    /// <summary>Number of words with synsets.</summary>
    public int WordCount => _synsets.Count;

    /// <summary>Builds a dictionary from in-memory data (word → synset ids, base form → inflected forms).</summary>
    /// <param name="synsets">Word → synset ids.</param>
    /// <param name="exceptions">Base form → its irregular inflected forms (may be empty).</param>
    /// <returns>The dictionary.</returns>
    public static WordNetSynonymDictionary FromData(
        IEnumerable<KeyValuePair<string, IEnumerable<int>>> synsets,
        IEnumerable<KeyValuePair<string, IEnumerable<string>>> exceptions)
    {
        ArgumentNullException.ThrowIfNull(synsets);
        ArgumentNullException.ThrowIfNull(exceptions);
        var s = new Dictionary<string, HashSet<int>>(StringComparer.Ordinal);
        foreach (var (word, ids) in synsets)
        {
            s[word] = [.. ids];
        }

        var b = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var (baseForm, forms) in exceptions)
        {
            foreach (var form in forms)
            {
                if (!b.TryGetValue(form, out var list))
                {
                    b[form] = list = [];
                }

                list.Add(baseForm);
            }
        }

        return new WordNetSynonymDictionary(s, b);
    }

    /// <summary>Loads Meteor-layout synonym files.</summary>
    /// <param name="synsetsPath">Path of the synsets file (e.g. <c>english.synsets</c>).</param>
    /// <param name="exceptionsPath">Path of the exceptions file (e.g. <c>english.exceptions</c>).</param>
    /// <returns>The dictionary.</returns>
    /// <exception cref="FileNotFoundException">When a file is missing.</exception>
    /// <exception cref="FormatException">When a synset id is not an integer (message names file and line).</exception>
    public static WordNetSynonymDictionary Load(string synsetsPath, string exceptionsPath)
    {
        ArgumentNullException.ThrowIfNull(synsetsPath);
        ArgumentNullException.ThrowIfNull(exceptionsPath);
        var synsets = new List<KeyValuePair<string, IEnumerable<int>>>();
        foreach (var (word, values, lineNumber) in ReadPairs(synsetsPath))
        {
            var ids = new List<int>();
            foreach (var token in values)
            {
                if (!int.TryParse(token, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out int id))
                {
                    throw new FormatException($"{synsetsPath}, line {lineNumber}: synset id '{token}' of word '{word}' is not an integer.");
                }

                ids.Add(id);
            }

            synsets.Add(new(word, ids));
        }

        var exceptions = ReadPairs(exceptionsPath).Select(p => new KeyValuePair<string, IEnumerable<string>>(p.Key, p.Values)).ToList();
        return FromData(synsets, exceptions);
    }

    private static IEnumerable<(string Key, string[] Values, int LineNumber)> ReadPairs(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Synonym file not found: {path}", path);
        }

        var lines = File.ReadAllLines(path, System.Text.Encoding.UTF8);
        for (int i = 0; i < lines.Length; i += 2)
        {
            var values = i + 1 < lines.Length ? MeteorNormalizer.Tokenize(lines[i + 1]) : [];
            yield return (lines[i], values, i + 2);
        }
    }

    /// <inheritdoc />
    public IReadOnlySet<int> SynsetsOf(string word)
    {
        ArgumentNullException.ThrowIfNull(word);
        var result = new HashSet<int>(Own(word));
        if (_bases.TryGetValue(word, out var bases))
        {
            foreach (var b in bases)
            {
                result.UnionWith(Own(b));
            }
        }
        else
        {
            result.UnionWith(Own(MorphologicalBase(word)));
        }

        return result;
    }

    private IReadOnlySet<int> Own(string word) => _synsets.TryGetValue(word, out var set) ? set : Empty;

    /// <summary>WordNet's regular-suffix base form: the first rewrite that is a known word, or "".</summary>
    private string MorphologicalBase(string word)
    {
        if (word.EndsWith("ss", StringComparison.Ordinal) || word.Length <= 2)
        {
            return word;
        }

        foreach (var (suffix, ending) in MorphRules)
        {
            if (word.EndsWith(suffix, StringComparison.Ordinal))
            {
                string candidate = word[..^suffix.Length] + ending;
                if (_synsets.ContainsKey(candidate))
                {
                    return candidate;
                }
            }
        }

        return string.Empty;
    }
}
