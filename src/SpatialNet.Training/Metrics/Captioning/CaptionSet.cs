namespace SpatialNet.Training.Metrics.Captioning;

/// <summary>
/// The input every caption metric scores: for each image id, its reference captions and exactly one
/// candidate caption, in a fixed image order (the order corpus means are taken in).
/// </summary>
public sealed class CaptionSet
{
    private readonly Dictionary<string, string[]> _references;
    private readonly Dictionary<string, string> _candidates;

    /// <summary>Creates a caption set and checks that references and candidates cover the same images.</summary>
    /// <param name="references">Image id → reference captions (at least one per image).</param>
    /// <param name="candidates">Image id → candidate caption.</param>
    /// <param name="imageOrder">
    /// The order of images for per-image lists and corpus means; when null, the enumeration order of
    /// <paramref name="references"/> (the reference code iterates its references dictionary).
    /// </param>
    /// <exception cref="ArgumentException">When ids differ, an image has no reference, or the order is not a permutation of the ids.</exception>
    public CaptionSet(
        IReadOnlyDictionary<string, IReadOnlyList<string>> references,
        IReadOnlyDictionary<string, string> candidates,
        IReadOnlyList<string>? imageOrder = null)
    {
        ArgumentNullException.ThrowIfNull(references);
        ArgumentNullException.ThrowIfNull(candidates);
        _references = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var (id, refs) in references)
        {
            if (refs is null || refs.Count == 0)
            {
                throw new ArgumentException($"Image '{id}' has no reference captions; every image needs at least one.", nameof(references));
            }

            if (refs.Any(r => r is null))
            {
                throw new ArgumentException($"Image '{id}' has a null reference caption.", nameof(references));
            }

            _references[id] = [.. refs];
        }

        _candidates = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (id, cand) in candidates)
        {
            _candidates[id] = cand ?? throw new ArgumentException($"Image '{id}' has a null candidate caption.", nameof(candidates));
        }

        var missingCandidates = _references.Keys.Where(k => !_candidates.ContainsKey(k)).ToList();
        var missingReferences = _candidates.Keys.Where(k => !_references.ContainsKey(k)).ToList();
        if (missingCandidates.Count > 0 || missingReferences.Count > 0)
        {
            throw new ArgumentException(
                "References and candidates must cover the same image ids. " +
                $"Without a candidate: [{string.Join(", ", missingCandidates.Take(10))}]; " +
                $"without references: [{string.Join(", ", missingReferences.Take(10))}].");
        }

        if (_references.Count == 0)
        {
            throw new ArgumentException("A caption set needs at least one image.", nameof(references));
        }

        var order = imageOrder is null ? references.Keys.ToArray() : imageOrder.ToArray();
        if (order.Length != _references.Count || order.Distinct(StringComparer.Ordinal).Count() != order.Length
            || order.Any(id => !_references.ContainsKey(id)))
        {
            throw new ArgumentException("imageOrder must list every image id exactly once.", nameof(imageOrder));
        }

        ImageIds = order;
    }

    /// <summary>Image ids in scoring order.</summary>
    public IReadOnlyList<string> ImageIds { get; }

    /// <summary>Number of images.</summary>
    public int Count => ImageIds.Count;

    /// <summary>The reference captions of an image.</summary>
    /// <param name="imageId">The image id.</param>
    /// <returns>The references, in the given order.</returns>
    public IReadOnlyList<string> ReferencesOf(string imageId) => _references[imageId];

    /// <summary>The candidate caption of an image.</summary>
    /// <param name="imageId">The image id.</param>
    /// <returns>The candidate.</returns>
    public string CandidateOf(string imageId) => _candidates[imageId];

    /// <summary>Each image's candidate and references, in <see cref="ImageIds"/> order.</summary>
    internal IEnumerable<(string Candidate, IReadOnlyList<string> References)> Pairs() =>
        ImageIds.Select(id => (CandidateOf(id), ReferencesOf(id)));

    /// <summary>Applies a text transform (e.g. a tokenizer) to every reference and candidate.</summary>
    /// <param name="transform">The transform.</param>
    /// <returns>A new caption set with the same image order.</returns>
    public CaptionSet Select(Func<string, string> transform)
    {
        ArgumentNullException.ThrowIfNull(transform);
        var refs = _references.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<string>)kv.Value.Select(transform).ToArray(), StringComparer.Ordinal);
        var cands = _candidates.ToDictionary(kv => kv.Key, kv => transform(kv.Value), StringComparer.Ordinal);
        return new CaptionSet(refs, cands, ImageIds);
    }
}
