using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;

namespace SpatialNet.Training.Configuration;

/// <summary>Writes a configuration as the JSON file that loads back to it (the run folder's <c>config.json</c>).</summary>
internal static class ConfigurationJson
{
    /// <summary>Indented JSON output.</summary>
    public static JsonSerializerOptions Indented { get; } = new() { WriteIndented = true };

    /// <summary>
    /// The configuration as nested JSON; sections whose keys are 0, 1, … become arrays, values stay strings,
    /// relative paths become absolute (against the working directory, as the run used them).
    /// </summary>
    public static string Write(IConfiguration configuration) => Node(configuration).ToJsonString(Indented);

    private static JsonNode Node(IConfiguration section)
    {
        var children = section.GetChildren().ToList();
        if (children.Count > 0 && children.All(c => int.TryParse(c.Key, out _)))
        {
            var array = new JsonArray();
            foreach (var c in children.OrderBy(c => int.Parse(c.Key, System.Globalization.CultureInfo.InvariantCulture)))
                array.Add(ValueOrNode(c));
            return array;
        }

        var o = new JsonObject();
        foreach (var c in children)
            o[c.Key] = ValueOrNode(c);
        return o;
    }

    private static JsonNode? ValueOrNode(IConfigurationSection c) => c.GetChildren().Any() ? Node(c)
        : c.Value is null ? null
        : SpatialNetConfiguration.IsPathKey(c.Key) && c.Value.Length > 0
            ? JsonValue.Create(PretrainedByName.IsHubId(c.Value) && !File.Exists(c.Value) ? c.Value : Path.GetFullPath(c.Value))
            : Typed(c.Value);

    // Configuration values are text; the file keeps numbers and booleans typed (they bind back the same).
    private static JsonNode Typed(string value) => value switch
    {
        "true" or "True" => JsonValue.Create(true),
        "false" or "False" => JsonValue.Create(false),
        _ when value.Length > 0 && (char.IsAsciiDigit(value[0]) || value[0] == '-') && value.All(ch => char.IsAsciiDigit(ch) || ch is '-' or '+' or '.' or 'e' or 'E')
            && !LeadingZero(value) && double.TryParse(value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var d) && double.IsFinite(d)
            => long.TryParse(value, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var l) ? JsonValue.Create(l)
                : ulong.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var u) ? JsonValue.Create(u)
                : JsonValue.Create(d),
        _ => JsonValue.Create(value),
    };

    // "007" stays text (a name), "0", "0.5" and "-0.5" are numbers.
    private static bool LeadingZero(string value)
    {
        var digits = value.TrimStart('-');
        return digits.Length > 1 && digits[0] == '0' && char.IsAsciiDigit(digits[1]);
    }
}
