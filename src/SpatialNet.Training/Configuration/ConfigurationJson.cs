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
        : JsonValue.Create(SpatialNetConfiguration.IsPathKey(c.Key) && c.Value.Length > 0 ? Path.GetFullPath(c.Value) : c.Value);
}
