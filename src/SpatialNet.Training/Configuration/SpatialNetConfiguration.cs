using System.Text;
using Microsoft.Extensions.Configuration;
using SpatialNet.DependencyInjection;

namespace SpatialNet.Training.Configuration;

/// <summary>
/// Builds the configuration of a run: a JSON file, then environment variables prefixed
/// <see cref="EnvironmentPrefix"/>, then <c>key=value</c> overrides (later sources win). Keys are
/// configuration paths (<c>model:depth</c>, <c>data:sources:0:path</c>); relative paths in the file
/// (keys named <c>path</c>, <c>output_dir</c>, <c>pretrained</c>) resolve against the file's folder,
/// those in overrides against the working directory.
/// </summary>
public static class SpatialNetConfiguration
{
    /// <summary>Prefix of environment variables read as configuration (<c>SPATIALNET__trainer__epochs=2</c> sets <c>trainer:epochs</c>).</summary>
    public const string EnvironmentPrefix = "SPATIALNET__";

    private static readonly HashSet<string> PathKeys = ["path", "outputdir", "pretrained"];

    /// <summary>Loads <paramref name="file"/> (or nothing), the environment and <paramref name="overrides"/>.</summary>
    /// <param name="file">JSON configuration file, or null.</param>
    /// <param name="overrides">Overrides <c>key=value</c> (the CLI's <c>--set</c>), applied in order.</param>
    /// <param name="environment">Read <see cref="EnvironmentPrefix"/> environment variables.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="ConfigurationException">The file is not valid JSON, or an override is not <c>key=value</c>.</exception>
    public static IConfigurationRoot Load(string? file, IEnumerable<string>? overrides = null, bool environment = true)
    {
        var builder = new ConfigurationBuilder();
        if (file is not null)
            builder.AddInMemoryCollection(ReadFile(file));
        if (environment)
            builder.AddInMemoryCollection(ResolvePaths(ReadEnvironment(), Directory.GetCurrentDirectory()));
        if (overrides is not null)
            builder.AddInMemoryCollection(ResolvePaths(overrides.Select(ParseOverride).ToList(), Directory.GetCurrentDirectory()));
        return builder.Build();
    }

    /// <summary>A configuration from JSON text (tests, samples); relative paths resolve against <paramref name="folder"/> (default: the working directory).</summary>
    /// <exception cref="ConfigurationException">Not valid JSON.</exception>
    public static IConfigurationRoot FromJson(string json, string? folder = null, IEnumerable<string>? overrides = null)
    {
        ArgumentNullException.ThrowIfNull(json);
        var builder = new ConfigurationBuilder().AddInMemoryCollection(ResolvePaths(ParseJson(json, "(json)"), folder ?? Directory.GetCurrentDirectory()));
        if (overrides is not null)
            builder.AddInMemoryCollection(ResolvePaths(overrides.Select(ParseOverride).ToList(), Directory.GetCurrentDirectory()));
        return builder.Build();
    }

    /// <summary>One override <c>key=value</c> (<c>model:depth=2</c>); the value may be empty.</summary>
    /// <exception cref="ConfigurationException">No <c>=</c>, or an empty key.</exception>
    public static KeyValuePair<string, string?> ParseOverride(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int eq = text.IndexOf('=', StringComparison.Ordinal);
        if (eq <= 0)
            throw new ConfigurationException($"--set '{text}': expected key=value with a configuration path as key (e.g. model:depth=2, data:sources:0:path=/data/x).");
        var key = text[..eq].Trim().Replace("__", ":", StringComparison.Ordinal);
        return new(key, text[(eq + 1)..]);
    }

    private static List<KeyValuePair<string, string?>> ReadFile(string file)
    {
        var full = Path.GetFullPath(file);
        if (!File.Exists(full))
            throw new FileNotFoundException($"Configuration file '{file}' not found.", full);
        return ResolvePaths(ParseJson(File.ReadAllText(full), full), Path.GetDirectoryName(full)!);
    }

    private static List<KeyValuePair<string, string?>> ParseJson(string json, string source)
    {
        try
        {
            using var stream = new MemoryStream(Encoding.UTF8.GetBytes(json));
            var all = new ConfigurationBuilder().AddJsonStream(stream).Build().AsEnumerable().ToList();
            // A JSON null (a key without value and without children) stays, as an empty value: the binder sets a
            // nullable option to null and refuses it for any other; dropping it would keep the default silently.
            var parents = all.Select(kv => kv.Key).Where(k => k.Contains(':', StringComparison.Ordinal))
                .Select(k => k[..k.LastIndexOf(':')]).ToHashSet(StringComparer.OrdinalIgnoreCase);
            return all.Where(kv => kv.Value is not null || !parents.Contains(kv.Key))
                .Select(kv => new KeyValuePair<string, string?>(kv.Key, kv.Value ?? string.Empty)).ToList();
        }
        catch (Exception e) when (e is FormatException or InvalidDataException or System.Text.Json.JsonException)
        {
            throw new ConfigurationException(source, [e.InnerException?.Message is { } inner ? $"{e.Message} {inner}" : e.Message]);
        }
    }

    private static List<KeyValuePair<string, string?>> ReadEnvironment()
    {
        var result = new List<KeyValuePair<string, string?>>();
        foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
        {
            if (e.Key is string k && k.StartsWith(EnvironmentPrefix, StringComparison.OrdinalIgnoreCase))
                result.Add(new(k[EnvironmentPrefix.Length..].Replace("__", ":", StringComparison.Ordinal), e.Value as string));
        }

        return result;
    }

    private static List<KeyValuePair<string, string?>> ResolvePaths(IEnumerable<KeyValuePair<string, string?>> values, string folder) =>
        values.Select(kv => IsPathKey(kv.Key) && !string.IsNullOrEmpty(kv.Value) && !IsHubModel(kv, folder)
            ? new KeyValuePair<string, string?>(kv.Key, Path.GetFullPath(Path.Combine(folder, kv.Value)))
            : kv).ToList();

    // pretrained: "timm/vit_small_patch16_224.augreg_in21k" names a model in the hub cache, unless such a file exists.
    private static bool IsHubModel(KeyValuePair<string, string?> kv, string folder) =>
        StrictConfigurationBinder.Normalize(kv.Key) == "pretrained" && PretrainedByName.IsHubId(kv.Value) && !File.Exists(Path.Combine(folder, kv.Value!));

    internal static bool IsPathKey(string key)
    {
        int colon = key.LastIndexOf(':');
        return PathKeys.Contains(StrictConfigurationBinder.Normalize(colon < 0 ? key : key[(colon + 1)..]));
    }
}
