using System.IO.Compression;

namespace SpatialNet.Training.Metrics.Meteor;

/// <summary>
/// A phrase paraphrase table for Meteor's <c>paraphrase</c> module, in the layout of Meteor 1.5's
/// <c>data/paraphrase-en.gz</c> (gzip-compressed or plain UTF-8 text, lines in threes: a probability,
/// a phrase, a paraphrase of it). SpatialNet ships no table: the user supplies one.
/// </summary>
/// <remarks>
/// Lookup follows Meteor's transducer: phrases are stored in a word trie; from a start position every
/// stored phrase that matches the following words yields its paraphrases, shorter phrases first, then in
/// file order. The probability lines are read and ignored, as Meteor does.
/// </remarks>
public sealed class MeteorParaphraseTable
{
    private readonly Node _root = new();
    private readonly List<string[]> _paraphrases = [];

    private sealed class Node
    {
        public Dictionary<string, Node> Children { get; } = new(StringComparer.Ordinal);

        public List<int> Emits { get; } = [];
    }

    private MeteorParaphraseTable()
    {
    }

    /// <summary>Number of (phrase, paraphrase) entries.</summary>
    public int Count => _paraphrases.Count;

    /// <summary>Builds a table from (phrase, paraphrase) pairs; phrases are split on whitespace.</summary>
    /// <param name="pairs">The entries, in lookup order.</param>
    /// <returns>The table.</returns>
    public static MeteorParaphraseTable FromPairs(IEnumerable<(string Phrase, string Paraphrase)> pairs)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        var table = new MeteorParaphraseTable();
        foreach (var (phrase, paraphrase) in pairs)
        {
            table.Add(MeteorNormalizer.Tokenize(phrase), MeteorNormalizer.Tokenize(paraphrase));
        }

        return table;
    }

    /// <summary>Loads a table in Meteor's paraphrase-file layout (gzip or plain text).</summary>
    /// <param name="path">The file (e.g. <c>paraphrase-en.gz</c>).</param>
    /// <returns>The table.</returns>
    /// <exception cref="FileNotFoundException">When the file is missing.</exception>
    /// <exception cref="InvalidDataException">When an entry is incomplete (the message names the file and line).</exception>
    public static MeteorParaphraseTable Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Paraphrase table not found: {path}", path);
        }

        using var file = File.OpenRead(path);
        bool gzip = file.ReadByte() == 0x1f && file.ReadByte() == 0x8b;
        file.Position = 0;
        using Stream stream = gzip ? new GZipStream(file, CompressionMode.Decompress) : file;
        using var reader = new StreamReader(stream, System.Text.Encoding.UTF8);
        var table = new MeteorParaphraseTable();
        int lineNumber = 0;
        while (reader.ReadLine() is not null)
        {
            lineNumber++;
            string? phrase = reader.ReadLine();
            string? paraphrase = reader.ReadLine();
            if (phrase is null || paraphrase is null)
            {
                throw new InvalidDataException($"{path}, line {lineNumber}: incomplete entry (expected a probability line, a phrase line and a paraphrase line).");
            }

            lineNumber += 2;
            table.Add(MeteorNormalizer.Tokenize(phrase), MeteorNormalizer.Tokenize(paraphrase));
        }

        return table;
    }

    private void Add(string[] phrase, string[] paraphrase)
    {
        var node = _root;
        foreach (var word in phrase)
        {
            if (!node.Children.TryGetValue(word, out var child))
            {
                node.Children[word] = child = new Node();
            }

            node = child;
        }

        node.Emits.Add(_paraphrases.Count);
        _paraphrases.Add(paraphrase);
    }

    /// <summary>Every stored phrase starting at <paramref name="start"/>: its length in words and one paraphrase, shortest first.</summary>
    internal IEnumerable<(int Length, string[] Paraphrase)> PhrasesAt(IReadOnlyList<string> words, int start)
    {
        var node = _root;
        for (int i = start; i < words.Count; i++)
        {
            if (!node.Children.TryGetValue(words[i], out node))
            {
                yield break;
            }

            foreach (int emit in node.Emits)
            {
                yield return (i - start + 1, _paraphrases[emit]);
            }
        }
    }
}
