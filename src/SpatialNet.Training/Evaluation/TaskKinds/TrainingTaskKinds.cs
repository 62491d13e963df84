using SpatialNet.DependencyInjection;
using SpatialNet.Heads;

namespace SpatialNet.Training.Evaluation;

/// <summary>The training side of the task kinds: the built-ins, and a task's kind found by its registration or name.</summary>
internal static class TrainingTaskKinds
{
    private static readonly Lazy<IReadOnlyList<TaskKindRegistration>> BuiltInList = new(() =>
        [new ClassificationTraining(), new RegressionTraining(), new MultiLabelTraining(), new VqaTraining(), new CaptionTraining(),
         new SegmentationTraining(), new PixelRegressionTraining()]);

    /// <summary>The built-in kinds with their training behaviour (<c>classification</c>, <c>regression</c>, <c>multi_label</c>, <c>vqa</c>, <c>caption</c>).</summary>
    public static IReadOnlyList<TaskKindRegistration> BuiltIn => BuiltInList.Value;

    /// <summary>The training behaviour of <paramref name="task"/>'s kind: its registration's, else the built-in kind of that name.</summary>
    /// <exception cref="ConfigurationException">The kind has no training behaviour.</exception>
    public static ITrainingTaskKind Of(TaskDefinition task)
    {
        ArgumentNullException.ThrowIfNull(task);
        return task.KindRegistration as ITrainingTaskKind ?? Of(task.Kind);
    }

    /// <summary>The training behaviour of the built-in kind <paramref name="kind"/>.</summary>
    /// <exception cref="ConfigurationException">No built-in kind has this name.</exception>
    public static ITrainingTaskKind Of(TaskKind kind) =>
        BuiltIn.LastOrDefault(k => k.Kind == kind) as ITrainingTaskKind
        ?? throw new ConfigurationException($"Task kind '{kind}' has no training behaviour; its registration must implement {nameof(ITrainingTaskKind)}.");

    /// <summary>The training behaviour of a registration (itself when it implements it, else the built-in kind of its name).</summary>
    public static ITrainingTaskKind Of(TaskKindRegistration kind) => kind as ITrainingTaskKind ?? Of(kind.Kind);
}
