using System.Text.Json;
using System.Text.Json.Nodes;

namespace SpatialNet.IO;

/// <summary>
/// Reading JSON dataset files with errors that name the file and the field (as a path such as
/// <c>questions[12].type</c>) instead of a bare parser or cast exception.
/// </summary>
internal static class JsonFile
{
    public static JsonNode Parse(string path)
    {
        if (!File.Exists(path)) throw new DatasetFileNotFoundException(path, null, "file not found.");
        try
        {
            var bytes = File.ReadAllBytes(path);
            if (InvalidUtf8Offset(bytes) is var bad and >= 0)
                throw new DatasetFormatException(path, "$", $"invalid UTF-8 at byte offset {bad}; the file must be UTF-8 text.");
            ReadOnlySpan<byte> text = bytes.AsSpan().StartsWith(Utf8Bom) ? bytes.AsSpan(Utf8Bom.Length) : bytes;
            // Duplicate keys are refused while parsing (a JsonObject would otherwise fail on first access, naming neither file nor key).
            return JsonNode.Parse(text, documentOptions: NoDuplicates) ?? throw new DatasetFormatException(path, "$", "the file holds JSON null.");
        }
        catch (JsonException ex)
        {
            var field = string.IsNullOrEmpty(ex.Path) ? "$" : ex.Path;
            var at = ex.LineNumber is { } line ? $" at line {line + 1}, byte {ex.BytePositionInLine + 1}" : string.Empty;
            throw new DatasetFormatException(path, field, $"malformed JSON{at}: {ex.Message}", ex);
        }
        catch (ArgumentException ex)
        {
            throw new DatasetFormatException(path, "$", $"invalid JSON object: {ex.Message}", ex);
        }
    }

    /// <summary>Parser options that refuse a key given twice in one object.</summary>
    public static JsonDocumentOptions NoDuplicates { get; } = new() { AllowDuplicateProperties = false };

    private static ReadOnlySpan<byte> Utf8Bom => [0xEF, 0xBB, 0xBF];

    /// <summary>Byte offset of the first byte that is not valid UTF-8, or -1 when all of <paramref name="bytes"/> is.</summary>
    public static long InvalidUtf8Offset(ReadOnlySpan<byte> bytes)
    {
        if (System.Text.Unicode.Utf8.IsValid(bytes))
            return -1;
        int at = 0;
        while (at < bytes.Length)
        {
            if (System.Text.Rune.DecodeFromUtf8(bytes[at..], out _, out int used) != System.Buffers.OperationStatus.Done)
                return at;
            at += used;
        }

        return -1;
    }

    public static JsonObject Object(JsonNode? node, string file, string field) =>
        node as JsonObject ?? throw new DatasetFormatException(file, field, $"expected a JSON object, found {Describe(node)}.");

    public static JsonArray Array(JsonObject parent, string name, string file, string field) =>
        parent[name] as JsonArray ?? throw new DatasetFormatException(file, field,
            parent.ContainsKey(name) ? $"expected an array, found {Describe(parent[name])}." : "required array is missing.");

    public static string String(JsonObject parent, string name, string file, string field) =>
        StringOrNull(parent, name, file, field) ?? throw new DatasetFormatException(file, field, "required string is missing.");

    public static string? StringOrNull(JsonObject parent, string name, string file, string field)
    {
        var node = parent[name];
        if (node is null) return null;
        return node is JsonValue v && v.TryGetValue<string>(out var s) ? s
            : throw new DatasetFormatException(file, field, $"expected a string, found {Describe(node)}.");
    }

    public static int Int(JsonObject parent, string name, string file, string field) =>
        IntOrNull(parent, name, file, field) ?? throw new DatasetFormatException(file, field, "required integer is missing.");

    public static int? IntOrNull(JsonObject parent, string name, string file, string field) =>
        IntOrNull(parent[name], file, field);

    public static int? IntOrNull(JsonNode? node, string file, string field)
    {
        if (node is null) return null;
        if (node is JsonValue v)
        {
            if (v.TryGetValue<int>(out var i)) return i;
            if (v.TryGetValue<double>(out var d) && d == Math.Floor(d) && d is >= int.MinValue and <= int.MaxValue) return (int)d;
        }
        throw new DatasetFormatException(file, field, $"expected an integer, found {Describe(node)}.");
    }

    public static bool Bool(JsonObject parent, string name, string file, string field) =>
        BoolOrNull(parent, name, file, field) ?? throw new DatasetFormatException(file, field, "required true/false is missing.");

    public static bool? BoolOrNull(JsonObject parent, string name, string file, string field)
    {
        var node = parent[name];
        if (node is null) return null;
        return node is JsonValue v && v.TryGetValue<bool>(out var b) ? b
            : throw new DatasetFormatException(file, field, $"expected true or false, found {Describe(node)}.");
    }

    public static List<string> StringArray(JsonObject parent, string name, string file, string field)
    {
        var array = Array(parent, name, file, field);
        var result = new List<string>(array.Count);
        for (var i = 0; i < array.Count; i++)
            result.Add(array[i] is JsonValue v && v.TryGetValue<string>(out var s) ? s
                : throw new DatasetFormatException(file, $"{field}[{i}]", $"expected a string, found {Describe(array[i])}."));
        return result;
    }

    public static List<int> IntArray(JsonObject parent, string name, string file, string field)
    {
        var array = Array(parent, name, file, field);
        var result = new List<int>(array.Count);
        for (var i = 0; i < array.Count; i++)
            result.Add(IntOrNull(array[i], file, $"{field}[{i}]") ?? throw new DatasetFormatException(file, $"{field}[{i}]", "expected an integer, found null."));
        return result;
    }

    private static string Describe(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject => "an object",
        JsonArray => "an array",
        JsonValue v => $"{v.GetValueKind().ToString().ToLowerInvariant()} {Truncate(v.ToJsonString())}",
        _ => node.GetType().Name,
    };

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..37] + "...";
}
