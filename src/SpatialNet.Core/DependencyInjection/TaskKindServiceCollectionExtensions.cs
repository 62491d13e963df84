using SpatialNet.DependencyInjection;
using SpatialNet.Heads;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers task kinds by the name configuration uses (<c>tasks:N:kind</c>).</summary>
public static class TaskKindServiceCollectionExtensions
{
    /// <summary>
    /// Registers <paramref name="kind"/> under its <see cref="TaskKindRegistration.Name"/>; a later registration of
    /// the same name replaces an earlier one. Register a host's kinds before <c>AddSpatialNet(configuration)</c>
    /// reads the tasks.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="kind">The kind.</param>
    public static IServiceCollection AddTaskKind(this IServiceCollection services, TaskKindRegistration kind)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(kind);
        if (TaskKindRegistry.Find(TaskKindRegistry.Of(services), kind.Name) is { } existing)
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
    internal static IServiceCollection AddBuiltInTaskKinds(this IServiceCollection services)
    {
        TaskKindRegistration[] builtIn =
        [
            new ClassificationTaskKind(), new RegressionTaskKind(), new MultiLabelTaskKind(), new VqaTaskKind(), new CaptionTaskKind(),
            new SpatialNet.Heads.Dense.SegmentationTaskKind(), new SpatialNet.Heads.Dense.PixelRegressionTaskKind(),
        ];
        foreach (var kind in builtIn)
        {
            if (TaskKindRegistry.Find(TaskKindRegistry.Of(services), kind.Name) is null)
                services.AddTaskKind(kind);
        }

        return services;
    }
}
