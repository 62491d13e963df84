using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SpatialNet.Modules;

/// <summary>
/// The transformer's position-wise feed-forward network (paper Eq. 5): <c>fc2(drop(act(fc1(x))))</c>
/// followed by dropout, as timm's <c>Mlp</c>. The paper writes ReLU; timm and most checkpoints use
/// GELU, which is the default here. State-dict names: <c>fc1</c>, <c>fc2</c>.
/// </summary>
public sealed class Mlp : nn.Module<Tensor, Tensor>
{
    private readonly Linear fc1;
    private readonly nn.Module<Tensor, Tensor> act;
    private readonly nn.Module<Tensor, Tensor> drop1;
    private readonly Linear fc2;
    private readonly nn.Module<Tensor, Tensor> drop2;

    /// <summary>Creates the MLP.</summary>
    /// <param name="inFeatures">Input and output width D.</param>
    /// <param name="hiddenFeatures">Hidden width (timm: D × mlp_ratio).</param>
    /// <param name="activation">Hidden activation.</param>
    /// <param name="dropRate">Dropout after the activation and after <c>fc2</c>.</param>
    public Mlp(int inFeatures, int hiddenFeatures, MlpActivation activation = MlpActivation.Gelu, double dropRate = 0.0)
        : base(nameof(Mlp))
    {
        if (inFeatures <= 0) throw new ArgumentOutOfRangeException(nameof(inFeatures), inFeatures, "inFeatures must be positive.");
        if (hiddenFeatures <= 0) throw new ArgumentOutOfRangeException(nameof(hiddenFeatures), hiddenFeatures, "hiddenFeatures must be positive.");
        fc1 = nn.Linear(inFeatures, hiddenFeatures);
        act = activation switch
        {
            MlpActivation.Gelu => nn.GELU(),
            MlpActivation.Relu => nn.ReLU(),
            _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, "Allowed: Gelu, Relu."),
        };
        drop1 = Layers.Dropout(dropRate);
        fc2 = nn.Linear(hiddenFeatures, inFeatures);
        drop2 = Layers.Dropout(dropRate);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = drop2.call(fc2.call(drop1.call(act.call(fc1.call(x)))));
        return y.MoveToOuterDisposeScope();
    }
}
