using System.Text.Json;

namespace SpatialNet.Training.Metrics.Captioning;

/// <summary>
/// Reads caption references and candidates from JSON, in the layouts captioning systems commonly write:
/// <list type="bullet">
/// <item><description>a plain object: references <c>{"id": ["ref", …]}</c>, candidates <c>{"id": "caption"}</c>;</description></item>
/// <item><description>the public reference-vector layout: <c>{"refs": {…}, "cands": {…}, "image_order": […]}</c>
/// (any key may be chosen, e.g. <c>refs_ptb</c>);</description></item>
/// <item><description>COCO layouts: a results list <c>[{"image_id": …, "caption": "…"}]</c>, or annotations
/// <c>{"annotations": [{"image_id": …, "caption": "…"}]}</c> (several per image for references).</description></item>
/// </list>
/// Image ids may be strings or integers; integers are used as their decimal text.
/// </summary>
public static class CaptionJson
{
    /// <summary>References read from a file, with the image order the file gives (if any).</summary>
    /// <param name="References">Image id → reference captions, in file order.</param>
    /// <param name="ImageOrder">The file's <c>image_order</c>, or the order images first appear.</param>
    public sealed record ReferenceFile(IReadOnlyDictionary<string, IReadOnlyList<string>> References, IReadOnlyList<string> ImageOrder);

    /// <summary>Reads references.</summary>
    /// <param name="path">The JSON file.</param>
    /// <param name="key">For the public-vector layout, the property holding the references (default <c>refs</c>).</param>
    /// <returns>The references and image order.</returns>
    /// <exception cref="FileNotFoundException">When the file is missing.</exception>
    /// <exception cref="InvalidDataException">When the JSON has none of the supported layouts (the message names the file and field).</exception>
    public static ReferenceFile ReadReferences(string path, string key = "refs")
    {
        using var doc = Open(path);
        var root = doc.RootElement;
        var refs = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var order = new List<string>();

        List<string> Ensure(string id)
        {
            if (!refs.TryGetValue(id, out var list))
            {
                refs[id] = list = [];
                order.Add(id);
            }

            return list;
        }

        void AddRef(string id, string caption) => Ensure(id).Add(caption);

        if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("annotations", out var annotations))
        {
            foreach (var (id, caption) in ReadCocoList(annotations, path, "annotations"))
            {
                AddRef(id, caption);
            }
        }
        else if (root.ValueKind == JsonValueKind.Array)
        {
            foreach (var (id, caption) in ReadCocoList(root, path, "$"))
            {
                AddRef(id, caption);
            }
        }
        else if (root.ValueKind == JsonValueKind.Object)
        {
            var (source, keyed, prefix) = KeyedObject(root, key, path, "lists of captions");

            foreach (var image in source.EnumerateObject())
            {
                if (image.Value.ValueKind != JsonValueKind.Array)
                {
                    throw new InvalidDataException($"{path}: field '{prefix}{image.Name}' must be a list of caption strings.");
                }

                Ensure(image.Name);
                foreach (var caption in image.Value.EnumerateArray())
                {
                    AddRef(image.Name, caption.ValueKind == JsonValueKind.String
                        ? caption.GetString()!
                        : throw new InvalidDataException($"{path}: field '{prefix}{image.Name}' must contain only strings."));
                }
            }

            if (keyed && root.TryGetProperty("image_order", out var imageOrder))
            {
                order = ReadStringList(imageOrder, path, "image_order");
            }
        }
        else
        {
            throw new InvalidDataException($"{path}: expected a JSON object or list of references.");
        }

        if (refs.Count == 0)
        {
            throw new InvalidDataException($"{path}: no references found (looked for '{key}', 'annotations', or an object of caption lists).");
        }

        return new ReferenceFile(refs.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<string>)kv.Value, StringComparer.Ordinal), order);
    }

    /// <summary>Reads candidates (one caption per image).</summary>
    /// <param name="path">The JSON file.</param>
    /// <param name="key">For the public-vector layout, the property holding the candidates (default <c>cands</c>).</param>
    /// <returns>Image id → candidate caption.</returns>
    /// <exception cref="FileNotFoundException">When the file is missing.</exception>
    /// <exception cref="InvalidDataException">When the layout is unsupported or an image has two candidates (the message names the file and field).</exception>
    public static IReadOnlyDictionary<string, string> ReadCandidates(string path, string key = "cands")
    {
        using var doc = Open(path);
        var root = doc.RootElement;
        var cands = new Dictionary<string, string>(StringComparer.Ordinal);
        if (root.ValueKind == JsonValueKind.Array || (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("annotations", out _)))
        {
            var list = root.ValueKind == JsonValueKind.Array ? root : root.GetProperty("annotations");
            foreach (var (id, caption) in ReadCocoList(list, path, root.ValueKind == JsonValueKind.Array ? "$" : "annotations"))
            {
                if (!cands.TryAdd(id, caption))
                {
                    throw new InvalidDataException($"{path}: image '{id}' has more than one candidate caption.");
                }
            }
        }
        else if (root.ValueKind == JsonValueKind.Object)
        {
            var (source, _, prefix) = KeyedObject(root, key, path, "captions");

            foreach (var image in source.EnumerateObject())
            {
                cands[image.Name] = image.Value.ValueKind == JsonValueKind.String
                    ? image.Value.GetString()!
                    : throw new InvalidDataException($"{path}: field '{prefix}{image.Name}' must be a caption string.");
            }
        }
        else
        {
            throw new InvalidDataException($"{path}: expected a JSON object or list of candidates.");
        }

        if (cands.Count == 0)
        {
            throw new InvalidDataException($"{path}: no candidates found (looked for '{key}', a COCO results list, or an object of captions).");
        }

        return cands;
    }

    /// <summary>
    /// The public-vector layout's object of image ids: <c>root[key]</c> when present, else the root itself.
    /// Returns whether the key was present and the field-path prefix used in error messages.
    /// </summary>
    private static (JsonElement Source, bool Keyed, string Prefix) KeyedObject(JsonElement root, string key, string path, string mapsTo)
    {
        bool keyed = root.TryGetProperty(key, out var source);
        if (!keyed)
        {
            source = root;
        }

        if (source.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidDataException($"{path}: field '{key}' must be an object mapping image ids to {mapsTo}.");
        }

        return (source, keyed, keyed ? key + "." : string.Empty);
    }

    /// <summary>Reads references and candidates and builds a caption set in the references' image order.</summary>
    /// <param name="referencesPath">References file.</param>
    /// <param name="candidatesPath">Candidates file.</param>
    /// <param name="referencesKey">Property holding references in the public-vector layout.</param>
    /// <param name="candidatesKey">Property holding candidates in the public-vector layout.</param>
    /// <returns>The caption set.</returns>
    public static CaptionSet ReadCaptionSet(string referencesPath, string candidatesPath, string referencesKey = "refs", string candidatesKey = "cands")
    {
        var refs = ReadReferences(referencesPath, referencesKey);
        var cands = ReadCandidates(candidatesPath, candidatesKey);
        try
        {
            return new CaptionSet(refs.References, cands, refs.ImageOrder);
        }
        catch (ArgumentException ex)
        {
            throw new InvalidDataException($"{referencesPath} / {candidatesPath}: {ex.Message}", ex);
        }
    }

    private static JsonDocument Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Caption file not found: {path}", path);
        }

        var bytes = File.ReadAllBytes(path);
        if (SpatialNet.IO.JsonFile.InvalidUtf8Offset(bytes) is var bad and >= 0)
            throw new InvalidDataException($"{path}: invalid UTF-8 at byte offset {bad}; caption files must be UTF-8 text.");
        try
        {
            return JsonDocument.Parse(bytes, SpatialNet.IO.JsonFile.NoDuplicates);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{path}: malformed JSON ({ex.Message}).", ex);
        }
    }

    private static IEnumerable<(string Id, string Caption)> ReadCocoList(JsonElement list, string path, string field)
    {
        if (list.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidDataException($"{path}: field '{field}' must be a list of {{\"image_id\", \"caption\"}} objects.");
        }

        int i = 0;
        foreach (var item in list.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object
                || !item.TryGetProperty("image_id", out var id)
                || !item.TryGetProperty("caption", out var caption)
                || caption.ValueKind != JsonValueKind.String
                || id.ValueKind is not (JsonValueKind.String or JsonValueKind.Number))
            {
                throw new InvalidDataException($"{path}: field '{field}[{i}]' must be an object with an 'image_id' (string or number) and a 'caption' string.");
            }

            yield return (id.ValueKind == JsonValueKind.String ? id.GetString()! : id.GetRawText(), caption.GetString()!);
            i++;
        }
    }

    private static List<string> ReadStringList(JsonElement list, string path, string field)
    {
        if (list.ValueKind != JsonValueKind.Array || list.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.String))
        {
            throw new InvalidDataException($"{path}: field '{field}' must be a list of image id strings.");
        }

        return list.EnumerateArray().Select(e => e.GetString()!).ToList();
    }
}
