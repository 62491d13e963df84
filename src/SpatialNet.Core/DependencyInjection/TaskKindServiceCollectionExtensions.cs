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
        return TaskKindRegistry.Add(services, kind);
    }
}
