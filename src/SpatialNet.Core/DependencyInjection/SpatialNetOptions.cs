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
    /// <summary>Registered tasks, in head order (filled by the builder's <c>Add…Task</c> methods).</summary>
    public IList<TaskRegistration> Tasks { get; } = new List<TaskRegistration>();

    /// <summary>λ_reg of the L2 term (Eq. 10–11); finite and ≥ 0; 0 turns it off. Default 0.01 (the paper).</summary>
    public double L2Lambda { get; set; } = L2Regularization.PaperLambda;

    /// <summary>Parameter selection of the L2 term; null uses the model's <see cref="SpatialNet.Modules.NoWeightDecay"/> rule (S = what it does not exclude).</summary>
    public Func<string, Parameter, bool>? L2Selection { get; set; }
}

/// <summary>A task as registered with dependency injection: its name, kind and head options type.</summary>
/// <param name="Name">Task name (also the options name of its head options).</param>
/// <param name="Kind">What the task predicts.</param>
/// <param name="OptionsType">Type of its named head options (a <see cref="TaskHeadOptions"/>).</param>
public sealed record TaskRegistration(string Name, TaskKind Kind, Type OptionsType);
