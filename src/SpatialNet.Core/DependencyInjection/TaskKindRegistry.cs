using Microsoft.Extensions.DependencyInjection;
using SpatialNet.Heads;

namespace SpatialNet.DependencyInjection;

/// <summary>The task kinds a service collection registers, found by the names configuration uses.</summary>
internal static class TaskKindRegistry
{
    private static readonly Lazy<IReadOnlyList<TaskKindRegistration>> BuiltInList =
        new(() => Of(AddBuiltIn(new ServiceCollection())));

    /// <summary>The built-in kinds (<c>classification</c>, <c>regression</c>, <c>multi_label</c>, <c>vqa</c>, <c>caption</c>), as <c>AddSpatialNet</c> registers them.</summary>
    public static IReadOnlyList<TaskKindRegistration> BuiltIn => BuiltInList.Value;

    /// <summary>Registers <paramref name="kind"/> (the body of <c>AddTaskKind</c>); a later registration of a name replaces an earlier one.</summary>
    public static IServiceCollection Add(IServiceCollection services, TaskKindRegistration kind)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(kind);
        if (Find(Of(services), kind.Name) is { } existing)
        {
            for (int i = services.Count - 1; i >= 0; i--)
            {
                if (services[i].ServiceType == typeof(TaskKindRegistration) && ReferenceEquals(services[i].ImplementationInstance, existing))
                    services.RemoveAt(i);
            }
        }

        services.AddSingleton(kind);
        return services;
    }

    /// <summary>The built-in kinds, registered as a host registers its own; a name already registered keeps its registration.</summary>
    public static IServiceCollection AddBuiltIn(IServiceCollection services)
    {
        TaskKindRegistration[] builtIn =
        [
            new ClassificationTaskKind(), new RegressionTaskKind(), new MultiLabelTaskKind(), new VqaTaskKind(), new CaptionTaskKind(),
            new SpatialNet.Heads.Dense.SegmentationTaskKind(), new SpatialNet.Heads.Dense.PixelRegressionTaskKind(),
        ];
        foreach (var kind in builtIn)
        {
            if (Find(Of(services), kind.Name) is null)
                Add(services, kind);
        }

        return services;
    }

    /// <summary>The kinds registered in <paramref name="services"/>, in registration order.</summary>
    public static IReadOnlyList<TaskKindRegistration> Of(IServiceCollection services) =>
        [.. services.Where(d => d.ServiceType == typeof(TaskKindRegistration) && !d.IsKeyedService)
            .Select(d => (TaskKindRegistration)d.ImplementationInstance!)];

    /// <summary>The registration configuration's <paramref name="name"/> names, or null.</summary>
    public static TaskKindRegistration? Find(IEnumerable<TaskKindRegistration> kinds, string? name) => kinds.LastOrDefault(k => k.IsNamed(name));

    /// <summary>The registered names, for messages.</summary>
    public static string Names(IEnumerable<TaskKindRegistration> kinds) => string.Join(", ", kinds.Select(k => k.Name));

    /// <summary>The message for a kind that is not registered.</summary>
    public static string Unknown(string path, string? kind, IEnumerable<TaskKindRegistration> kinds) =>
        $"{path} = \"{kind}\": allowed {Names(kinds)} (the registered task kinds).";
}
