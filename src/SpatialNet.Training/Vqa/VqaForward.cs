using SpatialNet.Heads;
using SpatialNet.Models;
using static TorchSharp.torch;

namespace SpatialNet.Training.Vqa;

/// <summary>
/// Runs a <see cref="MultiTaskModel"/>'s VQA task on a batch. With an image-deduplicated batch
/// (<see cref="VqaQuestionBank.ImageIndexKey"/> present) the shared encoder runs once per distinct
/// image and each question gets its own image's tokens; otherwise the model's own
/// <see cref="MultiTaskModel.Forward"/> runs with one image per question. Both give the same logits.
/// </summary>
public static class VqaForward
{
    /// <summary>The task head's output: for a <see cref="VqaHead"/>, answer logits [B, A] (plus the count column with the count branch).</summary>
    /// <param name="model">The model.</param>
    /// <param name="task">Name of its VQA task.</param>
    /// <param name="batch">Images under "image" and the head's inputs (question ids, …).</param>
    /// <exception cref="KeyNotFoundException">No such task, or an entry is missing.</exception>
    /// <exception cref="ArgumentException">The image index is not int64 [B].</exception>
    public static Tensor Logits(MultiTaskModel model, string task, IReadOnlyDictionary<string, Tensor> batch)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(batch);
        var head = model.Head(task);
        if (!batch.TryGetValue(VqaQuestionBank.ImageKey, out var images))
            throw new KeyNotFoundException($"The batch has no '{VqaQuestionBank.ImageKey}' entry; it has: {string.Join(", ", batch.Keys)}.");
        if (!batch.TryGetValue(VqaQuestionBank.ImageIndexKey, out var index))
            return model.Forward(images, batch, [task])[task];

        if (index.dim() != 1 || index.dtype != ScalarType.Int64)
            throw new ArgumentException($"'{VqaQuestionBank.ImageIndexKey}' must be int64 [B]; got [{string.Join(", ", index.shape)}] {index.dtype}.", nameof(batch));
        using var scope = NewDisposeScope();
        // The same encoder the model's Forward runs, once per distinct image; index_select's backward
        // sums each question's gradient into its image's tokens.
        var tokens = model.Encoder.ForwardTokens(images).index_select(0, index.to(images.device));
        return head.call(tokens, batch).MoveToOuterDisposeScope();
    }
}
