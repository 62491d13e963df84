using SpatialNet.Heads;
using SpatialNet.Losses;
using TorchSharp.Modules;

namespace SpatialNet.DependencyInjection;

/// <summary>
/// Model-wide settings registered by <c>AddSpatialNet</c>: the task list and the L2 term. Per-task
/// settings are named options of the task's head options type (options name = task name).
/// </summary>
public sealed class SpatialNetOptions
{
    /// <summary>Registered tasks, in head order (filled by the builder's <c>Add…Task</c> methods: name, kind and <see cref="TaskDefinition.HeadOptionsType"/>).</summary>
    public IList<TaskDefinition> Tasks { get; } = new List<TaskDefinition>();

    /// <summary>λ_reg of the L2 term (Eq. 10–11); finite and ≥ 0; 0 turns it off. Default 0.01 (the paper).</summary>
    public double L2Lambda { get; set; } = L2Regularization.PaperLambda;

    /// <summary>Parameter selection of the L2 term; null uses the model's <see cref="SpatialNet.Modules.NoWeightDecay"/> rule (S = what it does not exclude).</summary>
    public Func<string, Parameter, bool>? L2Selection { get; set; }

    /// <summary>How task losses are combined when no composer is registered explicitly (default: the paper's weighted sum, Eq. 6).</summary>
    public LossComposerKind LossComposer { get; set; } = LossComposerKind.WeightedSum;

    /// <summary>Temperature T of Dynamic Weight Average (Liu et al. 2019); finite and &gt; 0.</summary>
    public double DwaTemperature { get; set; } = 2.0;

    /// <summary>Seed of PCGrad's random task order (Yu et al. 2020).</summary>
    public int PCGradSeed { get; set; }

    /// <summary>α of GradNorm (Chen et al. 2018), the strength of the restoring force.</summary>
    public double GradNormAlpha { get; set; } = 1.5;
}

/// <summary>The built-in loss composers.</summary>
public enum LossComposerKind
{
    /// <summary>Σ_t λ_t·L_t (paper Eq. 6), <see cref="WeightedSum"/>.</summary>
    WeightedSum,

    /// <summary>Homoscedastic uncertainty weighting (Kendall et al. 2018), <see cref="UncertaintyWeighting"/>.</summary>
    Uncertainty,

    /// <summary>Dynamic Weight Average (Liu et al. 2019), <see cref="DynamicWeightAverage"/>.</summary>
    Dwa,

    /// <summary>Projected conflicting gradients (Yu et al. 2020), <see cref="PCGrad"/>.</summary>
    PCGrad,

    /// <summary>Gradient normalisation (Chen et al. 2018), <see cref="GradNorm"/>.</summary>
    GradNorm,
}
