using TorchSharp;
using static TorchSharp.torch;

namespace SpatialNet.Heads;

/// <summary>
/// Turns question token ids into one vector per token. <see cref="TransformerQuestionEncoder"/> is
/// the default; pass another (a pretrained language model, a recurrent encoder) to the
/// <see cref="VqaHead"/> constructor or to <c>AddVqaTask</c> to replace it.
/// </summary>
public interface IQuestionEncoder
{
    /// <summary>Width of the output tokens.</summary>
    int EmbedDim { get; }

    /// <summary>
    /// Encodes <paramref name="questionIds"/> [B, L] (int64) into [B, L, <see cref="EmbedDim"/>].
    /// Outputs at padded positions may be anything finite: the head masks them out.
    /// </summary>
    /// <param name="questionIds">Token ids, padded at the end.</param>
    /// <param name="valid">Bool [B, L], true at real (non-padding) tokens.</param>
    Tensor Encode(Tensor questionIds, Tensor valid);

    /// <summary>The encoder as a module (its parameters become the head's <c>question_encoder.*</c>).</summary>
    nn.Module AsModule();
}
