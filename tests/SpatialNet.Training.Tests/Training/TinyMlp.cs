using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SpatialNet.Training.Tests.Training;

/// <summary>A small MLP (fc1 → LayerNorm → ReLU → dropout → fc2) with weights, biases and norm parameters.</summary>
internal sealed class TinyMlp : nn.Module<Tensor, Tensor>
{
    private readonly Linear fc1;
    private readonly LayerNorm norm;
    private readonly Dropout drop;
    private readonly Linear fc2;

    public TinyMlp(int inputs, int hidden, int outputs, double dropout = 0.0) : base(nameof(TinyMlp))
    {
        fc1 = nn.Linear(inputs, hidden);
        norm = nn.LayerNorm(hidden);
        drop = nn.Dropout(dropout);
        fc2 = nn.Linear(hidden, outputs);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = nn.functional.relu(norm.call(fc1.call(x)));
        return fc2.call(drop.call(h)).MoveToOuterDisposeScope();
    }

    /// <summary>A copy with identical parameter values.</summary>
    public TinyMlp CloneWeights(int inputs, int hidden, int outputs, double dropout = 0.0)
    {
        var copy = new TinyMlp(inputs, hidden, outputs, dropout);
        using var _ = no_grad();
        var source = named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in copy.named_parameters())
            p.copy_(source[name]);
        return copy;
    }
}

/// <summary>A learnable regression task: y = x·W + b + small noise, from a seeded generator (independent of torch's global generator).</summary>
internal static class SyntheticRegression
{
    public static (Tensor X, Tensor Y) Make(int samples, int inputs, int outputs, long seed)
    {
        using var gen = new Generator((ulong)seed);
        var w = randn(inputs, outputs, generator: gen);
        var b = randn(outputs, generator: gen);
        var x = randn(samples, inputs, generator: gen);
        var y = x.matmul(w) + b + 0.01 * randn(samples, outputs, generator: gen);
        return (x, y);
    }
}
