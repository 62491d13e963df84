using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SpatialNet.Heads;

/// <summary>
/// The answer classifier on the fused vector: dropout → <c>fc1</c> → GELU → dropout → <c>fc2</c>
/// (an MLP, as RSVQA's classifier with a 256-wide hidden layer), or dropout → <c>fc2</c> with no hidden layer.
/// </summary>
public sealed class AnswerClassifier : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> drop1;
    private readonly nn.Module<Tensor, Tensor> fc1;
    private readonly nn.Module<Tensor, Tensor> act;
    private readonly nn.Module<Tensor, Tensor> drop2;
    private readonly Linear fc2;

    /// <summary>Creates the classifier.</summary>
    /// <param name="inFeatures">Width of the fused vector.</param>
    /// <param name="hiddenFeatures">Hidden width; 0 for a single linear layer.</param>
    /// <param name="outputs">Number of answers.</param>
    /// <param name="dropRate">Dropout before each linear layer.</param>
    public AnswerClassifier(int inFeatures, int hiddenFeatures, int outputs, double dropRate = 0.0) : base(nameof(AnswerClassifier))
    {
        if (inFeatures < 1) throw new ArgumentOutOfRangeException(nameof(inFeatures), inFeatures, "inFeatures must be positive.");
        if (hiddenFeatures < 0) throw new ArgumentOutOfRangeException(nameof(hiddenFeatures), hiddenFeatures, "hiddenFeatures must be 0 or more.");
        if (outputs < 1) throw new ArgumentOutOfRangeException(nameof(outputs), outputs, "outputs must be positive.");
        drop1 = dropRate > 0 ? nn.Dropout(dropRate) : nn.Identity();
        fc1 = hiddenFeatures > 0 ? nn.Linear(inFeatures, hiddenFeatures) : nn.Identity();
        act = hiddenFeatures > 0 ? nn.GELU() : nn.Identity();
        drop2 = dropRate > 0 && hiddenFeatures > 0 ? nn.Dropout(dropRate) : nn.Identity();
        fc2 = nn.Linear(hiddenFeatures > 0 ? hiddenFeatures : inFeatures, outputs);
        RegisterComponents();
        TextInit.Linears(this);
    }

    /// <summary>Fused vectors [B, F] → answer logits [B, A].</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var hidden = act.call(fc1.call(drop1.call(x)));
        return fc2.call(drop2.call(hidden)).MoveToOuterDisposeScope();
    }
}
