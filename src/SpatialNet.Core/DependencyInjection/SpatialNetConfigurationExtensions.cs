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
    /// <see cref="VisionTransformerOptions"/>, <c>loss</c> onto <see cref="SpatialNetOptions"/> (composer, λ_reg),
    /// and each <c>tasks:N</c> entry (<c>name</c>, <c>kind</c>, <c>head</c>) adds a task whose <c>head</c>
    /// binds onto the kind's head options. Keys match ignoring case, <c>_</c> and <c>-</c>.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The root configuration (a JSON file, environment variables, overrides).</param>
    /// <param name="configure">Further builder calls after the configured ones (a host's own heads or composer).</param>
    /// <param name="otherTaskKeys">Task keys that other components read (normalised, e.g. <c>target</c>); others are unknown.</param>
    /// <exception cref="ConfigurationException">An unknown key, a value that does not convert or an unknown task kind, each named by its path.</exception>
    public static IServiceCollection AddSpatialNet(this IServiceCollection services, IConfiguration configuration,
        Action<SpatialNetBuilder>? configure = null, IReadOnlySet<string>? otherTaskKeys = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var problems = new List<string>();
        var builder = services.AddSpatialNet();
        var model = configuration.GetSection("model");
        var loss = configuration.GetSection("loss");
        IReadOnlySet<string> lossSkip = new HashSet<string> { "tasks" };
        // Bound once now so that problems surface at registration, and again by the options system.
        StrictConfigurationBinder.Bind(model, new VisionTransformerOptions(), "model", problems);
        StrictConfigurationBinder.Bind(loss, new SpatialNetOptions(), "loss", problems, lossSkip);
        builder.UseVisionTransformer(o => StrictConfigurationBinder.Bind(model, o, "model"));
        builder.Configure(o => StrictConfigurationBinder.Bind(loss, o, "loss", lossSkip));

        foreach (var task in configuration.GetSection("tasks").GetChildren())
            AddTask(builder, task, problems, otherTaskKeys);
        if (problems.Count > 0)
            throw new ConfigurationException(null, problems);
        configure?.Invoke(builder);
        return services;
    }

    /// <summary>The head options type of a task kind as written in configuration (<c>classification</c>, <c>regression</c>, <c>multi_label</c>, <c>vqa</c>, <c>caption</c>), or null.</summary>
    public static TaskKind? ParseTaskKind(string? kind) => kind is null ? null : StrictConfigurationBinder.Normalize(kind) switch
    {
        "classification" => TaskKind.Classification,
        "regression" => TaskKind.Regression,
        "multilabel" => TaskKind.MultiLabel,
        "vqa" or "visualquestionanswering" => TaskKind.VisualQuestionAnswering,
        "caption" or "captioning" => TaskKind.Captioning,
        _ => null,
    };

    /// <summary>A new head options object for <paramref name="kind"/>.</summary>
    public static TaskHeadOptions NewHeadOptions(TaskKind kind) => kind switch
    {
        TaskKind.Classification => new ClassificationHeadOptions(),
        TaskKind.Regression => new RegressionHeadOptions(),
        TaskKind.MultiLabel => new MultiLabelHeadOptions(),
        TaskKind.VisualQuestionAnswering => new VqaHeadOptions(),
        TaskKind.Captioning => new CaptionHeadOptions(),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "No built-in head for this kind."),
    };

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

        if (ParseTaskKind(kindText) is not { } kind)
        {
            problems.Add($"{task.Path}:kind = \"{kindText}\": allowed classification, regression, multi_label, vqa or caption.");
            return;
        }

        var head = StrictConfigurationBinder.Child(task, "head") ?? task.GetSection("head");
        var dataDecided = kind == TaskKind.Classification ? DataDecidedKeys(head) : null;
        StrictConfigurationBinder.Bind(head, NewHeadOptions(kind), $"{task.Path}:head", problems, dataDecided);
        void Bind(TaskHeadOptions o) => StrictConfigurationBinder.Bind(head, o, $"{task.Path}:head", dataDecided);
        switch (kind)
        {
            case TaskKind.Classification:
                builder.AddClassificationTask(name, 0, Bind);
                break;
            case TaskKind.Regression:
                builder.AddRegressionTask(name, Bind);
                break;
            case TaskKind.MultiLabel:
                builder.AddMultiLabelTask(name, 0, Bind);
                break;
            case TaskKind.VisualQuestionAnswering:
                builder.AddVqaTask(name, 0, 0, Bind);
                break;
            default:
                builder.AddCaptionTask(name, 0, new CaptionHeadOptions().MaxLength, Bind);
                break;
        }
    }
}
