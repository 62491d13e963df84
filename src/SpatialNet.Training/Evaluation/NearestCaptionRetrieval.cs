using static TorchSharp.torch;

namespace SpatialNet.Training.Evaluation;

/// <summary>
/// The retrieval caption baseline by embedding: for a query image embedding, the training image
/// with the highest cosine similarity, and that image's most frequent caption
/// (<see cref="CaptionRetrieval.MostFrequent"/>). Equal similarities go to the earlier training image.
/// </summary>
public sealed class NearestCaptionRetrieval : IDisposable
{
    private readonly Tensor keys;
    private readonly string[] captions;

    /// <summary>Builds the index.</summary>
    /// <param name="trainingEmbeddings">Embeddings of the training images [M, E] (copied and L2-normalised).</param>
    /// <param name="trainingCaptions">The captions of each training image (M lists, none empty), in data order.</param>
    /// <param name="tieBreak">Rule among an image's equally frequent captions.</param>
    /// <param name="normalize">Counting key of captions; null uses <see cref="CaptionRetrieval.Normalize"/>.</param>
    /// <exception cref="ArgumentException">Shapes do not match or an image has no caption.</exception>
    public NearestCaptionRetrieval(Tensor trainingEmbeddings, IReadOnlyList<IEnumerable<string>> trainingCaptions,
        CaptionTieBreak tieBreak = CaptionTieBreak.FirstSeen, Func<string, string>? normalize = null)
    {
        ArgumentNullException.ThrowIfNull(trainingEmbeddings);
        ArgumentNullException.ThrowIfNull(trainingCaptions);
        if (trainingEmbeddings.dim() != 2 || trainingEmbeddings.shape[0] != trainingCaptions.Count || trainingCaptions.Count == 0)
        {
            throw new ArgumentException(
                $"Training embeddings must be [M, E] with M = {trainingCaptions.Count} (one row per captioned image, M > 0); got [{string.Join(", ", trainingEmbeddings.shape)}].",
                nameof(trainingEmbeddings));
        }

        captions = trainingCaptions.Select((c, i) =>
        {
            var list = c?.ToList() ?? [];
            return list.Count > 0
                ? CaptionRetrieval.MostFrequent(list, tieBreak, normalize)
                : throw new ArgumentException($"Training image {i} has no caption.", nameof(trainingCaptions));
        }).ToArray();
        using var scope = NewDisposeScope();
        keys = nn.functional.normalize(trainingEmbeddings.detach().to(float32), p: 2, dim: 1).MoveToOuterDisposeScope();
    }

    /// <summary>Number of training images.</summary>
    public int Count => captions.Length;

    /// <summary>Index of the nearest training image (cosine similarity) for each query [B, E].</summary>
    public long[] NearestIndices(Tensor queries)
    {
        ArgumentNullException.ThrowIfNull(queries);
        if (queries.dim() != 2 || queries.shape[1] != keys.shape[1])
        {
            throw new ArgumentException($"Queries must be [B, {keys.shape[1]}]; got [{string.Join(", ", queries.shape)}].", nameof(queries));
        }

        using var scope = NewDisposeScope();
        var q = nn.functional.normalize(queries.detach().to(float32).to(keys.device), p: 2, dim: 1);
        // argmax returns the first maximal index: ties go to the earlier training image.
        return q.matmul(keys.t()).argmax(1).cpu().data<long>().ToArray();
    }

    /// <summary>The retrieved caption for each query embedding [B, E].</summary>
    public IReadOnlyList<string> CaptionsFor(Tensor queries) => NearestIndices(queries).Select(i => captions[i]).ToArray();

    /// <inheritdoc />
    public void Dispose() => keys.Dispose();
}
