using Microsoft.Extensions.DependencyInjection;
using SpatialNet.Heads;

namespace SpatialNet.DependencyInjection;

/// <summary>The task kinds a service collection registers, found by the names configuration uses.</summary>
internal static class TaskKindRegistry
{
    private static readonly Lazy<IReadOnlyList<TaskKindRegistration>> BuiltInList =
        new(() => Of(new ServiceCollection().AddBuiltInTaskKinds()));

    /// <summary>The built-in kinds (<c>classification</c>, <c>regression</c>, <c>multi_label</c>, <c>vqa</c>, <c>caption</c>), as <c>AddSpatialNet</c> registers them.</summary>
    public static IReadOnlyList<TaskKindRegistration> BuiltIn => BuiltInList.Value;

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
