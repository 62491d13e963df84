using SpatialNet.DependencyInjection;
using SpatialNet.Heads;
using SpatialNet.Training.Evaluation;

namespace SpatialNet.Training.Configuration;

/// <summary>
/// The task kinds and loss composers a configured run may name: the built-ins, then those the host registered
/// (a host's registration of a built-in name replaces it). The run's model is assembled with exactly these.
/// </summary>
internal sealed record RunComponents(IReadOnlyList<TaskKindRegistration> Kinds, IReadOnlyList<LossComposerRegistration> Composers)
{
    /// <summary>The built-in kinds (with their training side) and composers.</summary>
    public static RunComponents BuiltIn { get; } = new(TrainingTaskKinds.BuiltIn, LossComposerRegistry.BuiltIn);

    /// <summary>The built-ins and the host's own registrations.</summary>
    public static RunComponents WithHost(IEnumerable<TaskKindRegistration> kinds, IEnumerable<LossComposerRegistration> composers) =>
        new([.. TrainingTaskKinds.BuiltIn, .. kinds], [.. LossComposerRegistry.BuiltIn, .. composers]);
}
