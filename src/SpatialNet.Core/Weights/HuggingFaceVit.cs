using System.Text.Json;
using System.Text.RegularExpressions;
using SpatialNet.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace SpatialNet.Weights;

/// <summary>
/// Hugging Face Transformers ViT checkpoints (<c>ViTModel</c>, <c>ViTForImageClassification</c>):
/// the key map to timm names and the reading of <c>config.json</c>.
/// </summary>
/// <remarks>
/// Key map (a leading <c>vit.</c> is optional):
/// <c>embeddings.cls_token</c> → <c>cls_token</c>; <c>embeddings.position_embeddings</c> → <c>pos_embed</c>;
/// <c>embeddings.patch_embeddings.projection</c> → <c>patch_embed.proj</c>;
/// <c>encoder.layer.N.attention.attention.{query,key,value}</c> → concatenated in that order along
/// the output rows into <c>blocks.N.attn.qkv</c>; <c>encoder.layer.N.attention.output.dense</c> →
/// <c>blocks.N.attn.proj</c>; <c>encoder.layer.N.intermediate.dense</c> → <c>blocks.N.mlp.fc1</c>;
/// <c>encoder.layer.N.output.dense</c> → <c>blocks.N.mlp.fc2</c>; <c>encoder.layer.N.layernorm_before</c>
/// / <c>layernorm_after</c> → <c>blocks.N.norm1</c> / <c>norm2</c>; <c>layernorm</c> → <c>norm</c>;
/// <c>classifier</c> → <c>head</c>. Other keys (e.g. <c>pooler.dense</c>) keep their names and are
/// reported as unexpected. Both libraries order the rows of a projection head by head, so the
/// fused weight is exact.
/// </remarks>
public static partial class HuggingFaceVit
{
    /// <summary>True when the keys look like a Hugging Face ViT checkpoint.</summary>
    public static bool LooksLikeHuggingFace(IEnumerable<string> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        return keys.Any(k => k.StartsWith("vit.embeddings.", StringComparison.Ordinal)
                          || k.StartsWith("embeddings.patch_embeddings.", StringComparison.Ordinal));
    }

    /// <summary>
    /// Returns the checkpoint under timm names. The result owns its tensors (renamed entries are
    /// aliases of the input's storage, fused qkv entries are new), so either dictionary may be disposed first.
    /// </summary>
    /// <exception cref="WeightFileException">A layer has some but not all of query, key and value, or their shapes differ.</exception>
    /// <param name="checkpoint">Tensors under Hugging Face names.</param>
    /// <param name="source">The file the tensors came from, named in errors.</param>
    public static StateDict ToTimmNames(IReadOnlyDictionary<string, Tensor> checkpoint, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var result = new StateDict();
        var qkvParts = new SortedDictionary<string, Dictionary<string, Tensor>>(StringComparer.Ordinal);
        foreach (var (key, tensor) in checkpoint)
        {
            var name = key.StartsWith("vit.", StringComparison.Ordinal) ? key["vit.".Length..] : key;
            var qkv = QkvKey().Match(name);
            if (qkv.Success)
            {
                // blocks.N.attn.qkv.{weight|bias} collects its query, key and value parts.
                var target = $"blocks.{qkv.Groups["layer"].Value}.attn.qkv.{qkv.Groups["param"].Value}";
                if (!qkvParts.TryGetValue(target, out var parts)) qkvParts[target] = parts = new();
                parts[qkv.Groups["part"].Value] = tensor;
                continue;
            }
            result[Rename(name)] = tensor.alias();
        }
        foreach (var (target, parts) in qkvParts)
        {
            string[] order = ["query", "key", "value"];
            var absent = order.Where(p => !parts.ContainsKey(p)).ToArray();
            if (absent.Length > 0)
            {
                result.Dispose();
                throw new WeightFileException(source, $"{Where(source)}Hugging Face checkpoint has no {string.Join(", ", absent)} for '{target}'; all of query, key and value are needed to build it.");
            }
            var shapes = order.Select(p => parts[p].shape).ToArray();
            if (shapes.Any(sh => !sh.SequenceEqual(shapes[0])) || order.Any(p => parts[p].dtype != parts["query"].dtype))
            {
                result.Dispose();
                throw new WeightFileException(source, $"{Where(source)}Hugging Face checkpoint: the query, key and value of '{target}' have shapes " +
                    string.Join(", ", order.Select(p => $"{p} [{string.Join(", ", parts[p].shape)}] {parts[p].dtype}")) +
                    "; fusing them needs one shape and dtype.");
            }
            result[target] = cat(order.Select(p => parts[p]).ToArray(), 0);
        }
        return result;
    }

    private static string Where(string? source) => source is null ? "" : $"'{source}': ";

    private static string Rename(string name)
    {
        var layer = LayerKey().Match(name);
        if (layer.Success)
        {
            var part = layer.Groups["part"].Value switch
            {
                "attention.output.dense" => "attn.proj",
                "intermediate.dense" => "mlp.fc1",
                "output.dense" => "mlp.fc2",
                "layernorm_before" => "norm1",
                "layernorm_after" => "norm2",
                _ => null,
            };
            return part is null ? name : $"blocks.{layer.Groups["layer"].Value}.{part}.{layer.Groups["param"].Value}";
        }
        return name switch
        {
            "embeddings.cls_token" => "cls_token",
            "embeddings.position_embeddings" => "pos_embed",
            _ when name.StartsWith("embeddings.patch_embeddings.projection.", StringComparison.Ordinal)
                => "patch_embed.proj." + name["embeddings.patch_embeddings.projection.".Length..],
            _ when name.StartsWith("layernorm.", StringComparison.Ordinal) => "norm." + name["layernorm.".Length..],
            _ when name.StartsWith("classifier.", StringComparison.Ordinal) => "head." + name["classifier.".Length..],
            _ => name,
        };
    }

    /// <summary>
    /// Reads a Hugging Face ViT <c>config.json</c> into encoder options: <c>hidden_size</c>,
    /// <c>num_hidden_layers</c>, <c>num_attention_heads</c>, <c>intermediate_size</c> (as the MLP ratio),
    /// <c>image_size</c>, <c>patch_size</c>, <c>num_channels</c>, <c>qkv_bias</c>, <c>layer_norm_eps</c>
    /// (Hugging Face's default 1e-12 when absent), <c>hidden_act</c> (gelu or relu),
    /// <c>hidden_dropout_prob</c>, <c>attention_probs_dropout_prob</c>, and the classes from <c>id2label</c>
    /// when <c>architectures</c> names <c>ViTForImageClassification</c>. Class-token pooling, no fc_norm.
    /// </summary>
    /// <exception cref="WeightFileException">The file is missing or not a JSON object, or a field has another type or an unsupported value (the message names the file and field).</exception>
    public static VisionTransformerOptions ReadOptions(string configPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(configPath);
        if (!File.Exists(configPath))
            throw new WeightFileException(configPath, $"Hugging Face config '{configPath}' does not exist.");
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllText(configPath)); }
        catch (JsonException e) { throw new WeightFileException(configPath, $"Hugging Face config '{configPath}' is not valid JSON: {e.Message}", e); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw Invalid(configPath, "$", root, "a JSON object");
            int Int(string field, int fallback) => root.TryGetProperty(field, out var v) ? ReadInt(v, field, configPath) : fallback;
            double Num(string field, double fallback) => !root.TryGetProperty(field, out var v) ? fallback
                : v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out var d) && double.IsFinite(d) ? d
                : throw Invalid(configPath, field, v, "a number");
            bool Bool(string field, bool fallback) => !root.TryGetProperty(field, out var v) ? fallback
                : v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean()
                : throw Invalid(configPath, field, v, "true or false");
            int hidden = Int("hidden_size", 768);
            if (hidden <= 0)
                throw Invalid(configPath, "hidden_size", root.GetProperty("hidden_size"), "a positive integer");
            int intermediate = Int("intermediate_size", 4 * hidden);
            // The MLP width is D × ratio truncated (timm's int(dim * mlp_ratio)); I / D may round below the ratio
            // that gives back I (11 × (15 / 11) = 14.99…), so the ratio is raised to the next double that does.
            double mlpRatio = (double)intermediate / hidden;
            while (intermediate > 0 && (int)(hidden * mlpRatio) < intermediate)
                mlpRatio = Math.BitIncrement(mlpRatio);
            var options = new VisionTransformerOptions
            {
                EmbedDim = hidden,
                Depth = Int("num_hidden_layers", 12),
                NumHeads = Int("num_attention_heads", 12),
                MlpRatio = mlpRatio,
                ImageSize = Int("image_size", 224),
                PatchSize = Int("patch_size", 16),
                InChannels = Int("num_channels", 3),
                QkvBias = Bool("qkv_bias", true),
                NormEps = Num("layer_norm_eps", 1e-12),
                DropRate = Num("hidden_dropout_prob", 0.0),
                AttnDropRate = Num("attention_probs_dropout_prob", 0.0),
                ClassToken = true,
                GlobalPool = GlobalPool.Token,
                FcNorm = false,
            };
            if (root.TryGetProperty("hidden_act", out var act))
            {
                options.Activation = (act.ValueKind == JsonValueKind.String ? act.GetString() : null) switch
                {
                    "gelu" => MlpActivation.Gelu,
                    "relu" => MlpActivation.Relu,
                    _ => throw Invalid(configPath, "hidden_act", act, "\"gelu\" or \"relu\""),
                };
            }
            bool classifier = root.TryGetProperty("architectures", out var arch) && arch.ValueKind == JsonValueKind.Array
                && arch.EnumerateArray().Any(a => a.ValueKind == JsonValueKind.String && a.GetString() == "ViTForImageClassification");
            if (classifier && root.TryGetProperty("id2label", out var labels))
            {
                if (labels.ValueKind != JsonValueKind.Object)
                    throw Invalid(configPath, "id2label", labels, "an object of class names");
                options.NumClasses = labels.EnumerateObject().Count();
            }
            return options;
        }
    }

    private static int ReadInt(JsonElement value, string field, string path)
    {
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var i)) return i;
        if (value.ValueKind == JsonValueKind.Array && value.GetArrayLength() == 2
            && value[0].ValueKind == JsonValueKind.Number && value[1].ValueKind == JsonValueKind.Number
            && value[0].TryGetInt32(out var a) && value[1].TryGetInt32(out var b) && a == b) return a;
        throw Invalid(path, field, value, "an integer (or a pair of equal integers)");
    }

    private static WeightFileException Invalid(string path, string field, JsonElement value, string allowed)
    {
        var text = value.GetRawText();
        if (text.Length > 80) text = text[..80] + "…";
        return new WeightFileException(path, $"Hugging Face config '{path}': {field} = {text} is not supported; allowed: {allowed}.");
    }

    [GeneratedRegex(@"^encoder\.layer\.(?<layer>\d+)\.attention\.attention\.(?<part>query|key|value)\.(?<param>weight|bias)$", RegexOptions.CultureInvariant)]
    private static partial Regex QkvKey();

    [GeneratedRegex(@"^encoder\.layer\.(?<layer>\d+)\.(?<part>attention\.output\.dense|intermediate\.dense|output\.dense|layernorm_before|layernorm_after)\.(?<param>weight|bias)$", RegexOptions.CultureInvariant)]
    private static partial Regex LayerKey();
}
