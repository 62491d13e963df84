using SpatialNet.IO;
using SpatialNet.Training.Batching;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SpatialNet.Training.Text;

/// <summary>
/// Tokenizer + vocabulary + length rule: turns caption or question text into token ids and back.
/// Saved as one JSON file beside the model, so the same ids mean the same words at inference.
/// </summary>
public sealed class TextEncoder
{
    /// <summary>Format tag written into saved files.</summary>
    public const string FormatName = "spatialnet.text-encoder/1";

    /// <summary>Creates an encoder.</summary>
    /// <param name="tokenizer">How text is split.</param>
    /// <param name="vocabulary">Token ids.</param>
    /// <param name="maxLength">Most ids per sequence, &lt;bos&gt;/&lt;eos&gt; included.</param>
    /// <param name="addBos">Prefix &lt;bos&gt; (captions: yes; questions: usually not).</param>
    /// <param name="addEos">Append &lt;eos&gt; (captions: yes).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxLength"/> leaves no room for a word.</exception>
    public TextEncoder(WordTokenizer tokenizer, Vocabulary vocabulary, int maxLength, bool addBos = false, bool addEos = false)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(vocabulary);
        var minimum = 1 + (addBos ? 1 : 0) + (addEos ? 1 : 0);
        if (maxLength < minimum) throw new ArgumentOutOfRangeException(nameof(maxLength), $"maxLength must be ≥ {minimum} with these special tokens; got {maxLength}.");
        Tokenizer = tokenizer;
        Vocabulary = vocabulary;
        MaxLength = maxLength;
        AddBos = addBos;
        AddEos = addEos;
    }

    /// <summary>Builds the vocabulary from training texts and returns the encoder.</summary>
    public static TextEncoder Build(IEnumerable<string> texts, WordTokenizer tokenizer, int maxLength,
        bool addBos = false, bool addEos = false, int minCount = 1, int? maxVocabularySize = null)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentNullException.ThrowIfNull(tokenizer);
        var vocabulary = Vocabulary.Build(texts.Select(tokenizer.Tokenize), minCount, maxVocabularySize);
        return new TextEncoder(tokenizer, vocabulary, maxLength, addBos, addEos);
    }

    /// <summary>How text is split.</summary>
    public WordTokenizer Tokenizer { get; }

    /// <summary>Token ids.</summary>
    public Vocabulary Vocabulary { get; }

    /// <summary>Most ids per encoded sequence, specials included.</summary>
    public int MaxLength { get; }

    /// <summary>Whether sequences start with &lt;bos&gt;.</summary>
    public bool AddBos { get; }

    /// <summary>Whether sequences end with &lt;eos&gt;.</summary>
    public bool AddEos { get; }

    /// <summary>
    /// Ids of <paramref name="text"/>: [&lt;bos&gt;] words… [&lt;eos&gt;], words beyond
    /// <see cref="MaxLength"/> cut (the &lt;eos&gt; is kept), unknown words as &lt;unk&gt;. Not padded:
    /// <see cref="BatchCollator"/> pads a batch to its longest sequence.
    /// </summary>
    public long[] Encode(string text) => EncodeTokens(Tokenizer.Tokenize(text));

    /// <summary>As <see cref="Encode"/>, for text already split into tokens (e.g. UCM-caption's
    /// <c>tokens</c>; empty tokens are skipped, case is changed when the tokenizer lower-cases).</summary>
    public long[] EncodeTokens(IEnumerable<string> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var room = MaxLength - (AddBos ? 1 : 0) - (AddEos ? 1 : 0);
        var ids = new List<long>(MaxLength);
        if (AddBos) ids.Add(Vocabulary.BosId);
        foreach (var token in tokens)
        {
            if (string.IsNullOrEmpty(token)) continue;
            if (ids.Count - (AddBos ? 1 : 0) == room) break;
            ids.Add(Vocabulary.IdOf(Tokenizer.Lowercase ? token.ToLowerInvariant() : token));
        }
        if (AddEos) ids.Add(Vocabulary.EosId);
        return ids.ToArray();
    }

    /// <summary>Text of an id sequence: stops at the first &lt;eos&gt;, skips &lt;pad&gt; and &lt;bos&gt;, joins with spaces.</summary>
    public string Decode(IEnumerable<long> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var words = new List<string>();
        foreach (var id in ids)
        {
            if (id == Vocabulary.EosId) break;
            if (id is Vocabulary.PadId or Vocabulary.BosId) continue;
            words.Add(id >= 0 && id < Vocabulary.Count ? Vocabulary.TokenOf((int)id) : Vocabulary.UnkToken);
        }
        return string.Join(' ', words);
    }

    /// <summary>Writes the encoder as JSON.</summary>
    public void Save(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        AtomicFile.WriteAllText(path, ToJson().ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>The encoder as a JSON object (to embed in a larger file).</summary>
    public JsonObject ToJson() => new()
    {
        ["format"] = FormatName,
        ["tokenizer"] = new JsonObject { ["lowercase"] = Tokenizer.Lowercase, ["keep_punctuation"] = Tokenizer.KeepPunctuation },
        ["max_length"] = MaxLength,
        ["add_bos"] = AddBos,
        ["add_eos"] = AddEos,
        ["tokens"] = new JsonArray(Vocabulary.Tokens.Select(t => (JsonNode?)JsonValue.Create(t)).ToArray()),
    };

    /// <summary>Reads an encoder written by <see cref="Save"/>.</summary>
    /// <exception cref="DatasetFileNotFoundException">The file does not exist.</exception>
    /// <exception cref="DatasetFormatException">The file is not a valid encoder (the message names the field).</exception>
    public static TextEncoder Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new DatasetFileNotFoundException(path, null, "text encoder file not found.");
        return FromJson(JsonFile.Parse(path), path);
    }

    /// <summary>Reads an encoder from a JSON object made by <see cref="ToJson"/>; <paramref name="source"/> names it in errors.</summary>
    /// <exception cref="DatasetFormatException">A field is missing or invalid.</exception>
    public static TextEncoder FromJson(JsonNode? json, string source)
    {
        var root = JsonFile.Object(json, source, "$");
        var format = JsonFile.String(root, "format", source, "format");
        if (format != FormatName) throw new DatasetFormatException(source, "format", $"'{format}' is not '{FormatName}'.");
        var tokenizerNode = JsonFile.Object(root["tokenizer"], source, "tokenizer");
        var tokenizer = new WordTokenizer
        {
            Lowercase = JsonFile.Bool(tokenizerNode, "lowercase", source, "tokenizer.lowercase"),
            KeepPunctuation = JsonFile.Bool(tokenizerNode, "keep_punctuation", source, "tokenizer.keep_punctuation"),
        };
        var tokens = JsonFile.StringArray(root, "tokens", source, "tokens");
        Vocabulary vocabulary;
        try { vocabulary = new Vocabulary(tokens); }
        catch (ArgumentException ex) { throw new DatasetFormatException(source, "tokens", ex.Message, ex); }
        try
        {
            return new TextEncoder(tokenizer, vocabulary, JsonFile.Int(root, "max_length", source, "max_length"),
                JsonFile.Bool(root, "add_bos", source, "add_bos"), JsonFile.Bool(root, "add_eos", source, "add_eos"));
        }
        catch (ArgumentOutOfRangeException ex) { throw new DatasetFormatException(source, "max_length", ex.Message, ex); }
    }
}
