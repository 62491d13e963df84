using SpatialNet.Heads;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SpatialNet.Core.Tests.Heads;

/// <summary>
/// A minimal caption/VQA-style head used to pin down that the contract admits extra named inputs
/// and sequence outputs: question tokens [B, T] → embeddings attend to image tokens → logits [B, T, V].
/// </summary>
internal sealed class SequenceTestHead : TaskHead
{
    public const string QuestionInput = "question";

    private readonly Embedding embed;
    private readonly Linear out_proj;

    public SequenceTestHead(string taskName, TokenLayout layout, int vocabulary) : base(taskName, layout)
    {
        embed = nn.Embedding(vocabulary, layout.EmbedDim);
        out_proj = nn.Linear(layout.EmbedDim, vocabulary);
        RegisterComponents();
    }

    public override TaskKind Kind => TaskKind.Captioning;

    public override IReadOnlyList<string> InputNames => [QuestionInput];

    public override Tensor forward(Tensor tokens, IReadOnlyDictionary<string, Tensor> inputs)
    {
        CheckTokens(tokens);
        using var scope = NewDisposeScope();
        var query = embed.call(GetInput(inputs, QuestionInput));                 // [B, T, D]
        var attended = nn.functional.scaled_dot_product_attention(query, tokens, tokens); // [B, T, D]
        return out_proj.call(attended).MoveToOuterDisposeScope();               // [B, T, V]
    }

    public override Tensor Loss(Tensor predictions, Tensor targets, IReadOnlyDictionary<string, Tensor>? inputs = null)
    {
        using var scope = NewDisposeScope();
        return nn.functional.cross_entropy(predictions.flatten(0, 1), targets.flatten()).MoveToOuterDisposeScope();
    }

    public override Tensor Predict(Tensor predictions) => predictions.argmax(-1);
}
