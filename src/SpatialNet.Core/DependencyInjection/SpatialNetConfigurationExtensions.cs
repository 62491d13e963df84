using Microsoft.Extensions.Configuration;
using SpatialNet.DependencyInjection;
using SpatialNet.Heads;
using SpatialNet.Modules;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers a SpatialNet model described by configuration (docs/training.md lists the keys).</summary>
public static class SpatialNetConfigurationExtensions
{
    /// <summary>Task keys read here; the rest belong to other components (training data mapping).</summary>
    private static readonly HashSet<string> ModelTaskKeys = ["name", "kind", "head"];

    /// <summary>
    /// Registers the SpatialNet services as <see cref="SpatialNetServiceCollectionExtensions.AddSpatialNet(IServiceCollection, Action{SpatialNetBuilder})"/>
    /// does, configured from <paramref name="configuration"/>: <c>model</c> binds onto
    /// <see cref="VisionTransformerOptions"/>, <c>loss</c> onto <see cref="SpatialNetOptions"/> (composer, λ_reg) and each
    /// registered loss composer's section <c>loss:&lt;name&gt;</c> onto its options,
    /// and each <c>tasks:N</c> entry (<c>name</c>, <c>kind</c>, <c>head</c>) adds a task whose <c>head</c>
    /// binds onto the kind's head options. Keys match ignoring case, <c>_</c> and <c>-</c>.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The root configuration (a JSON file, environment variables, overrides).</param>
    /// <param name="configure">Further builder calls after the configured ones (a host's own heads or composer).</param>
    /// <param name="otherTaskKeys">Task keys that other components read (normalised, e.g. <c>target</c>); others are unknown.</param>
    /// <exception cref="ConfigurationException">An unknown key, a value that does not convert, an unknown task kind or loss composer, each named by its path.</exception>
    /// <remarks>A task's <c>kind</c> names a registered <see cref="TaskKindRegistration"/> (the built-ins, or a host's registered with <c>AddTaskKind</c> before this call).</remarks>
    public static IServiceCollection AddSpatialNet(this IServiceCollection services, IConfiguration configuration,
        Action<SpatialNetBuilder>? configure = null, IReadOnlySet<string>? otherTaskKeys = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var problems = new List<string>();
        var builder = services.AddSpatialNet();
        var model = configuration.GetSection("model");
        var loss = configuration.GetSection("loss");
        // Bound once now so that problems surface at registration, and again by the options system.
        StrictConfigurationBinder.Bind(model, new VisionTransformerOptions(), "model", problems);
        builder.UseVisionTransformer(o => StrictConfigurationBinder.Bind(model, o, "model"));

        foreach (var task in configuration.GetSection("tasks").GetChildren())
            AddTask(builder, task, problems, otherTaskKeys);
        configure?.Invoke(builder);

        // Every registered composer (built-in, or the host's, also from configure) binds its own section loss:<name>.
        var sections = LossComposerRegistry.Bind(loss, new SpatialNetOptions(), LossComposerRegistry.Of(services), "loss", problems);
        if (problems.Count > 0)
            throw new ConfigurationException(null, problems);
        IReadOnlySet<string> lossSkip = new HashSet<string>(sections.Select(s => StrictConfigurationBinder.Normalize(s.Section.Key))) { "tasks" };
        builder.Configure(o => StrictConfigurationBinder.Bind(loss, o, "loss", lossSkip));
        foreach (var (composer, section) in sections)
            composer.BindConfiguration(services, section, "loss:" + section.Key);
        return services;
    }

    /// <summary>The configuration value of a classification head's <c>class_weights</c> that asks for weights from the training split's class counts.</summary>
    internal const string BalancedClassWeights = "balanced";

    /// <summary>Head keys the binder leaves alone: <c>class_weights</c> when it is <c>"balanced"</c> (the training data decides them).</summary>
    internal static IReadOnlySet<string>? DataDecidedKeys(IConfiguration? head) =>
        head is not null && StrictConfigurationBinder.Child(head, "class_weights")?.Value == BalancedClassWeights ? new HashSet<string> { "classweights" } : null;

    private static void AddTask(SpatialNetBuilder builder, IConfigurationSection task, List<string> problems, IReadOnlySet<string>? otherTaskKeys)
    {
        foreach (var key in task.GetChildren())
        {
            var k = StrictConfigurationBinder.Normalize(key.Key);
            if (!ModelTaskKeys.Contains(k) && otherTaskKeys?.Contains(k) != true)
                problems.Add($"{task.Path}:{key.Key}: unknown key; allowed: {string.Join(", ", ModelTaskKeys.Concat(otherTaskKeys ?? new HashSet<string>()).Order(StringComparer.Ordinal))}.");
        }

        var name = StrictConfigurationBinder.Child(task, "name")?.Value;
        var kindText = StrictConfigurationBinder.Child(task, "kind")?.Value;
        if (string.IsNullOrEmpty(name))
        {
            problems.Add($"{task.Path}:name: required (the task's name).");
            return;
        }

        var kinds = TaskKindRegistry.Of(builder.Services);
        if (TaskKindRegistry.Find(kinds, kindText) is not { } kind)
        {
            problems.Add(TaskKindRegistry.Unknown($"{task.Path}:kind", kindText, kinds));
            return;
        }

        var head = StrictConfigurationBinder.Child(task, "head") ?? task.GetSection("head");
        var dataDecided = kind.Kind == TaskKind.Classification ? DataDecidedKeys(head) : null;
        StrictConfigurationBinder.Bind(head, kind.NewHeadOptions(), $"{task.Path}:head", problems, dataDecided);
        kind.AddTo(new Registrar(builder), name, o => StrictConfigurationBinder.Bind(head, o, $"{task.Path}:head", dataDecided));
    }

    // Adds a configured task of a registered kind to the builder, with the kind's own head options type.
    private sealed class Registrar(SpatialNetBuilder builder) : ITaskKindRegistrar
    {
        public void Add<TOptions>(TaskKindRegistration<TOptions> kind, string taskName, Action<TaskHeadOptions>? configure)
            where TOptions : TaskHeadOptions, new() =>
            builder.AddRegisteredTask<TOptions>(taskName, kind.Kind, kind, (sp, layout, o) => kind.CreateHead(sp, taskName, layout, o),
                configure is null ? null : o => configure(o));
    }
}
