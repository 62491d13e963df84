using SpatialNet.IO;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SpatialNet.Training.Text;

/// <summary>
/// The closed set of answers a VQA classifier chooses from (RSVQA-LR: yes, no, rural, urban and the
/// five count bins). Index order: most frequent first in the data it was built from, ties ordinal.
/// An answer outside the set encodes as <see cref="IgnoreIndex"/> (−100, PyTorch's default
/// <c>ignore_index</c> of cross-entropy), so it is skipped by the loss but still counted wrong by metrics.
/// </summary>
public sealed class AnswerVocabulary
{
    /// <summary>Format tag written into saved files.</summary>
    public const string FormatName = "spatialnet.answer-vocabulary/1";

    /// <summary>The index of an answer outside the vocabulary.</summary>
    public const int IgnoreIndex = -100;

    private readonly string[] _answers;
    private readonly Dictionary<string, int> _index;

    /// <summary>Creates a vocabulary from its answers in index order.</summary>
    /// <exception cref="ArgumentException">Empty, or an answer repeats.</exception>
    public AnswerVocabulary(IEnumerable<string> answers)
    {
        ArgumentNullException.ThrowIfNull(answers);
        _answers = answers.ToArray();
        if (_answers.Length == 0) throw new ArgumentException("An answer vocabulary needs at least one answer.", nameof(answers));
        _index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < _answers.Length; i++)
            if (!_index.TryAdd(_answers[i], i)) throw new ArgumentException($"Answer '{_answers[i]}' appears twice.", nameof(answers));
    }

    /// <summary>Builds the vocabulary from (training) answers; at most <paramref name="maxSize"/> most frequent.</summary>
    public static AnswerVocabulary Build(IEnumerable<string> answers, int? maxSize = null)
    {
        ArgumentNullException.ThrowIfNull(answers);
        var ordered = answers.GroupBy(a => a, StringComparer.Ordinal)
            .OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).Select(g => g.Key);
        return new AnswerVocabulary(maxSize is { } m ? ordered.Take(m) : ordered);
    }

    /// <summary>Answers in index order.</summary>
    public IReadOnlyList<string> Answers => _answers;

    /// <summary>Number of answers (classifier outputs).</summary>
    public int Count => _answers.Length;

    /// <summary>The index of <paramref name="answer"/>, or <see cref="IgnoreIndex"/>.</summary>
    public int Encode(string answer) => _index.TryGetValue(answer, out var i) ? i : IgnoreIndex;

    /// <summary>The answer at <paramref name="index"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">No such index.</exception>
    public string Decode(int index)
    {
        if (index < 0 || index >= _answers.Length) throw new ArgumentOutOfRangeException(nameof(index), $"Answer index {index} is outside [0, {_answers.Length}).");
        return _answers[index];
    }

    /// <summary>Writes the vocabulary as JSON.</summary>
    public void Save(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        AtomicFile.WriteAllText(path, ToJson().ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>The vocabulary as a JSON object.</summary>
    public JsonObject ToJson() => new()
    {
        ["format"] = FormatName,
        ["answers"] = new JsonArray(_answers.Select(a => (JsonNode?)JsonValue.Create(a)).ToArray()),
    };

    /// <summary>Reads a vocabulary written by <see cref="Save"/>.</summary>
    /// <exception cref="DatasetFileNotFoundException">The file does not exist.</exception>
    /// <exception cref="DatasetFormatException">The file is not a valid answer vocabulary.</exception>
    public static AnswerVocabulary Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new DatasetFileNotFoundException(path, null, "answer vocabulary file not found.");
        return FromJson(JsonFile.Parse(path), path);
    }

    /// <summary>Reads a vocabulary from a JSON object made by <see cref="ToJson"/>.</summary>
    /// <exception cref="DatasetFormatException">A field is missing or invalid.</exception>
    public static AnswerVocabulary FromJson(JsonNode? json, string source)
    {
        var root = JsonFile.Object(json, source, "$");
        var format = JsonFile.String(root, "format", source, "format");
        if (format != FormatName) throw new DatasetFormatException(source, "format", $"'{format}' is not '{FormatName}'.");
        try { return new AnswerVocabulary(JsonFile.StringArray(root, "answers", source, "answers")); }
        catch (ArgumentException ex) { throw new DatasetFormatException(source, "answers", ex.Message, ex); }
    }
}
