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

    /// <summary>
    /// The name of the loss composer that combines task losses, as registered by <c>AddLossComposer</c> (configuration
    /// <c>loss:loss_composer</c>; its settings are in <c>loss:&lt;name&gt;</c>). Default <c>weighted_sum</c>: the paper's Eq. (6).
    /// </summary>
    public string LossComposer { get; set; } = "weighted_sum";
}
