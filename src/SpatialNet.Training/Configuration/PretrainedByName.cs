using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using SpatialNet.DependencyInjection;
using SpatialNet.Modules;
using SpatialNet.Weights;

namespace SpatialNet.Training.Configuration;

/// <summary>
/// <c>pretrained: "timm/&lt;architecture&gt;.&lt;tag&gt;"</c> or a Hugging Face id (<c>google/vit-base-patch16-224</c>) resolved
/// offline in the local Hugging Face hub cache (<c>models--&lt;org&gt;--&lt;name&gt;/snapshots/&lt;revision&gt;/</c>): the weights file,
/// the encoder's sizes from its <c>config.json</c> and the normalisation it was trained with.
/// </summary>
internal sealed partial record PretrainedByName(string Id, string Folder, string WeightsPath, IReadOnlyDictionary<string, string> ModelKeys,
    IReadOnlyList<double>? Mean, IReadOnlyList<double>? Std)
{
    private static readonly string[] WeightFiles = ["model.safetensors", "pytorch_model.bin", "open_clip_pytorch_model.bin"];

    // timm ViT widths: tiny, small, base, large, huge (embed_dim, depth, heads).
    private static readonly Dictionary<string, (int Dim, int Depth, int Heads)> TimmSizes = new(StringComparer.Ordinal)
    {
        ["tiny"] = (192, 12, 3), ["small"] = (384, 12, 6), ["base"] = (768, 12, 12), ["large"] = (1024, 24, 16), ["huge"] = (1280, 32, 16),
    };

    /// <summary>Whether <paramref name="value"/> reads as a hub id (<c>org/name</c>, no weight-file extension) rather than a path.</summary>
    public static bool IsHubId(string? value) =>
        value is not null && HubId().IsMatch(value) && !new[] { ".safetensors", ".pth", ".pt", ".bin", ".ckpt" }.Any(e => value.EndsWith(e, StringComparison.OrdinalIgnoreCase));

    /// <summary>The hub cache folders searched, in order: <c>HF_HUB_CACHE</c>, <c>HF_HOME</c>/hub, <c>~/.cache/huggingface/hub</c>.</summary>
    public static IReadOnlyList<string> CacheFolders()
    {
        var folders = new List<string>();
        if (Environment.GetEnvironmentVariable("HF_HUB_CACHE") is { Length: > 0 } hub)
            folders.Add(hub);
        if (Environment.GetEnvironmentVariable("HF_HOME") is { Length: > 0 } home)
            folders.Add(Path.Combine(home, "hub"));
        folders.Add(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "huggingface", "hub"));
        return [.. folders.Select(Path.GetFullPath).Distinct(StringComparer.Ordinal)];
    }

    /// <summary>Finds <paramref name="id"/> in the hub cache and reads its sizes and normalisation.</summary>
    /// <exception cref="ConfigurationException">Not in the cache (names the folders searched and the download command), or a config.json that cannot be used.</exception>
    public static PretrainedByName Resolve(string id)
    {
        var repo = "models--" + id.Replace("/", "--", StringComparison.Ordinal);
        var searched = CacheFolders();
        foreach (var cache in searched)
        {
            var root = Path.Combine(cache, repo);
            if (Snapshot(root) is not { } snapshot)
                continue;
            var weights = WeightFiles.Select(f => Path.Combine(snapshot, f)).FirstOrDefault(File.Exists);
            var config = Path.Combine(snapshot, "config.json");
            if (weights is null || !File.Exists(config))
                continue;
            return id.StartsWith("timm/", StringComparison.Ordinal) ? FromTimm(id, snapshot, weights, config) : FromTransformers(id, snapshot, weights, config);
        }
        var command = id.StartsWith("timm/", StringComparison.Ordinal)
            ? $"python -c \"import timm; timm.create_model('hf-hub:{id}', pretrained=True)\""
            : $"huggingface-cli download {id} config.json model.safetensors";
        throw new ConfigurationException(
            $"pretrained = \"{id}\": not in the local Hugging Face hub cache (no {repo}/snapshots/<revision>/ with config.json and {string.Join(" or ", WeightFiles)}); " +
            $"searched {string.Join(", ", searched)} (HF_HUB_CACHE, HF_HOME/hub, ~/.cache/huggingface/hub). Download it on a machine with internet access, e.g. `{command}`, and copy the cache folder.");
    }

    /// <summary>
    /// The configuration with the encoder's sizes of a hub-id <c>pretrained</c> filled in under <c>model</c> (keys the
    /// configuration does not set; a key set to another value is an error), or <paramref name="configuration"/> itself.
    /// </summary>
    /// <exception cref="ConfigurationException">The model is not in the cache, or a model key contradicts it.</exception>
    public static IConfiguration WithModel(IConfiguration configuration)
    {
        if (StrictConfigurationBinder.Child(configuration, "pretrained")?.Value is not { } value || !IsHubId(value))
            return configuration;
        var resolved = Resolve(value);
        var model = StrictConfigurationBinder.Child(configuration, "model");
        var problems = new List<string>();
        var added = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var (key, wanted) in resolved.ModelKeys)
        {
            var set = model is null ? null : StrictConfigurationBinder.Child(model, key)?.Value;
            if (set is null)
                added["model:" + key] = wanted;
            else if (!SameValue(set, wanted))
                problems.Add($"model:{key} = {set}: pretrained = \"{value}\" has {wanted} ({Path.Combine(resolved.Folder, "config.json")}); leave it out or set {wanted}.");
        }
        if (problems.Count > 0)
            throw new ConfigurationException(null, problems);
        return new ConfigurationBuilder().AddConfiguration(configuration).AddInMemoryCollection(added).Build();
    }

    private static bool SameValue(string a, string b) =>
        double.TryParse(a, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) && double.TryParse(b, NumberStyles.Float, CultureInfo.InvariantCulture, out var y)
            ? x == y
            : string.Equals(StrictConfigurationBinder.Normalize(a), StrictConfigurationBinder.Normalize(b), StringComparison.Ordinal);

    // refs/main names the revision; without it, the one (or newest) snapshot.
    private static string? Snapshot(string root)
    {
        var snapshots = Path.Combine(root, "snapshots");
        if (!Directory.Exists(snapshots))
            return null;
        var main = Path.Combine(root, "refs", "main");
        if (File.Exists(main) && Path.Combine(snapshots, File.ReadAllText(main).Trim()) is var named && Directory.Exists(named))
            return named;
        return new DirectoryInfo(snapshots).GetDirectories().OrderByDescending(d => d.LastWriteTimeUtc).Select(d => d.FullName).FirstOrDefault();
    }

    // timm: the architecture name gives the sizes (vit_small_patch16_224), pretrained_cfg the input size and normalisation.
    private static PretrainedByName FromTimm(string id, string folder, string weights, string config)
    {
        using var doc = Parse(config);
        var root = doc.RootElement;
        var architecture = root.TryGetProperty("architecture", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString()! : id[5..].Split('.')[0];
        var match = TimmArchitecture().Match(architecture);
        if (!match.Success || !TimmSizes.TryGetValue(match.Groups["size"].Value, out var size))
            throw new ConfigurationException($"pretrained = \"{id}\": architecture '{architecture}' ({config}) is not a timm ViT this encoder builds (vit_{{tiny,small,base,large,huge}}_patch<P>_<size>).");
        var keys = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["embed_dim"] = Invariant(size.Dim), ["depth"] = Invariant(size.Depth), ["num_heads"] = Invariant(size.Heads),
            ["patch_size"] = match.Groups["patch"].Value, ["image_size"] = match.Groups["image"].Value,
            ["mlp_ratio"] = "4", ["qkv_bias"] = "true", ["norm_eps"] = "1E-06", ["class_token"] = "true",
        };
        IReadOnlyList<double>? mean = null, std = null;
        if (root.TryGetProperty("pretrained_cfg", out var cfg) && cfg.ValueKind == JsonValueKind.Object)
        {
            if (cfg.TryGetProperty("input_size", out var input) && input.ValueKind == JsonValueKind.Array && input.GetArrayLength() == 3)
            {
                keys["in_channels"] = Invariant(input[0].GetInt32());
                keys["image_size"] = Invariant(input[2].GetInt32());
            }
            mean = Numbers(cfg, "mean");
            std = Numbers(cfg, "std");
        }
        return new PretrainedByName(id, folder, weights, keys, mean, std);
    }

    // Transformers: config.json's hidden_size, num_hidden_layers, … (HuggingFaceVit.ReadOptions); preprocessor_config.json's image_mean/std.
    private static PretrainedByName FromTransformers(string id, string folder, string weights, string config)
    {
        VisionTransformerOptions o;
        try
        {
            o = HuggingFaceVit.ReadOptions(config);
        }
        catch (WeightFileException e)
        {
            throw new ConfigurationException($"pretrained = \"{id}\": {e.Message}");
        }
        var keys = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["embed_dim"] = Invariant(o.EmbedDim), ["depth"] = Invariant(o.Depth), ["num_heads"] = Invariant(o.NumHeads),
            ["mlp_ratio"] = o.MlpRatio.ToString("R", CultureInfo.InvariantCulture), ["patch_size"] = Invariant(o.PatchSize),
            ["image_size"] = Invariant(o.ImageSize), ["in_channels"] = Invariant(o.InChannels), ["qkv_bias"] = o.QkvBias ? "true" : "false",
            ["norm_eps"] = o.NormEps.ToString("R", CultureInfo.InvariantCulture), ["activation"] = o.Activation.ToString().ToLowerInvariant(),
        };
        IReadOnlyList<double>? mean = null, std = null;
        var preprocessor = Path.Combine(folder, "preprocessor_config.json");
        if (File.Exists(preprocessor))
        {
            using var doc = Parse(preprocessor);
            mean = Numbers(doc.RootElement, "image_mean");
            std = Numbers(doc.RootElement, "image_std");
        }
        return new PretrainedByName(id, folder, weights, keys, mean, std);
    }

    private static JsonDocument Parse(string file)
    {
        try
        {
            return JsonDocument.Parse(File.ReadAllText(file));
        }
        catch (JsonException e)
        {
            throw new ConfigurationException($"{file}: not valid JSON ({e.Message}).");
        }
    }

    private static double[]? Numbers(JsonElement o, string field) =>
        o.TryGetProperty(field, out var v) && v.ValueKind == JsonValueKind.Array && v.EnumerateArray().All(x => x.ValueKind == JsonValueKind.Number)
            ? [.. v.EnumerateArray().Select(x => x.GetDouble())]
            : null;

    private static string Invariant(int v) => v.ToString(CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^(timm|[A-Za-z0-9][\w.-]*)/[A-Za-z0-9][\w.-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex HubId();

    [GeneratedRegex(@"^vit_(?<size>tiny|small|base|large|huge)_patch(?<patch>\d+)_(?<image>\d+)", RegexOptions.CultureInvariant)]
    private static partial Regex TimmArchitecture();
}
