using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SpatialNet.Training.Optimization;

/// <summary>
/// Decides which parameters belong to an optimizer parameter group and which hyper-parameters the
/// group overrides. Groups select by name and tensor (not by object identity), so a selection stays
/// valid after <see cref="FlatParameterBuffers"/> casts the model for mixed precision.
/// </summary>
internal sealed class ParameterGroupSpec
{
    /// <summary>Creates a group.</summary>
    /// <param name="name">Group name, used in logs, checkpoints and error messages.</param>
    /// <param name="selector">
    /// Returns true for the parameters (state-dict name, tensor) of this group; <c>null</c> takes every
    /// parameter that no earlier group took. A parameter joins the first group that selects it.
    /// </param>
    /// <param name="learningRate">Base learning rate of the group; <c>null</c> uses the optimizer's.</param>
    /// <param name="weightDecay">Decoupled weight decay of the group; <c>null</c> uses the optimizer's.</param>
    public ParameterGroupSpec(string name, Func<string, Parameter, bool>? selector = null, double? learningRate = null, double? weightDecay = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (learningRate is < 0 or double.NaN)
            throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, $"Parameter group '{name}': learning rate must be >= 0.");
        if (weightDecay is < 0 or double.NaN)
            throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, $"Parameter group '{name}': weight decay must be >= 0.");
        Name = name;
        Selector = selector;
        LearningRate = learningRate;
        WeightDecay = weightDecay;
    }

    /// <summary>Group name.</summary>
    public string Name { get; }

    /// <summary>Membership test; <c>null</c> means "every parameter not taken by an earlier group".</summary>
    public Func<string, Parameter, bool>? Selector { get; }

    /// <summary>Base learning rate override, or <c>null</c>.</summary>
    public double? LearningRate { get; }

    /// <summary>Weight decay override, or <c>null</c>.</summary>
    public double? WeightDecay { get; }
}

/// <summary>Common parameter-group layouts.</summary>
internal static class ParameterGroups
{
    /// <summary>Name of the group that receives weight decay in <see cref="DecayAndNoDecay(Func{string, Parameter, bool})"/>.</summary>
    public const string DecayGroupName = "decay";

    /// <summary>Name of the group without weight decay in <see cref="DecayAndNoDecay(Func{string, Parameter, bool})"/>.</summary>
    public const string NoDecayGroupName = "no_decay";

    /// <summary>
    /// Two groups: <see cref="NoDecayGroupName"/> (selected by <paramref name="noDecay"/>, weight decay 0)
    /// and <see cref="DecayGroupName"/> (everything else, the optimizer's weight decay).
    /// </summary>
    public static IReadOnlyList<ParameterGroupSpec> DecayAndNoDecay(Func<string, Parameter, bool> noDecay) =>
    [
        new ParameterGroupSpec(NoDecayGroupName, noDecay ?? throw new ArgumentNullException(nameof(noDecay)), weightDecay: 0.0),
        new ParameterGroupSpec(DecayGroupName),
    ];

    /// <summary>
    /// <see cref="DecayAndNoDecay(Func{string, Parameter, bool})"/> with the one rule of weight decay and
    /// the L2 term, <see cref="SpatialNet.Modules.NoWeightDecay.For"/>(<paramref name="module"/>):
    /// tensors with ndim ≤ 1 and the names modules list in <c>NoWeightDecay()</c> are not decayed.
    /// </summary>
    public static IReadOnlyList<ParameterGroupSpec> DecayAndNoDecay(nn.Module module) =>
        DecayAndNoDecay(SpatialNet.Modules.NoWeightDecay.For(module));
}
