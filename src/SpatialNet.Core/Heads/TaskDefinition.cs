namespace SpatialNet.Heads;

/// <summary>
/// A task, described once for every stage: its name (the key of its head, targets, predictions,
/// losses and metrics), its kind, its loss weight λ_t (paper Eq. 6), its head options, the batch
/// entries its head reads, the metrics that evaluate it and what the data says about it (label
/// names, target statistics). Heads, loss composers, evaluators and reports read it.
/// </summary>
/// <param name="Name">Task name.</param>
/// <param name="Kind">What the task predicts, and how it is scored.</param>
/// <param name="LossWeight">λ_t of Eq. (6); 0 or more. Default 1.</param>
public sealed record TaskDefinition(string Name, TaskKind Kind, double LossWeight = 1.0)
{
    /// <summary>What a task name may contain: letters, digits, '_' and '-' (names become state-dict keys, so no '.').</summary>
    public const string AllowedNameDescription = "a non-empty name of letters, digits, '_' and '-'";

    private readonly Type? headOptionsType;

    /// <summary>
    /// The head's options, with the sizes the data decides once it is opened; null when the task is
    /// described without them. A vqa task with <see cref="ClassificationHeadOptions"/> is answered from the image alone.
    /// </summary>
    public TaskHeadOptions? Head { get; init; }

    /// <summary>Type of the named head options registered for the task (dependency injection); null: <see cref="Head"/>'s type.</summary>
    public Type? HeadOptionsType { get => headOptionsType ?? Head?.GetType(); init => headOptionsType = value; }

    /// <summary>
    /// The registration of the task's kind, as configuration named it (the stages ask it instead of switching on
    /// <see cref="Kind"/>); null for a task described in code, whose <see cref="Kind"/> then names a built-in kind.
    /// </summary>
    public TaskKindRegistration? KindRegistration { get; init; }

    /// <summary>Batch entries the head reads besides the encoder tokens (<see cref="TaskHead.InputNames"/>); the targets are the entry named like the task.</summary>
    public IReadOnlyList<string> Inputs { get; init; } = [];

    /// <summary>Names of the metrics that evaluate the task; null: its kind's defaults (the evaluation layer knows the names).</summary>
    public IReadOnlyList<string>? Metrics { get; init; }

    /// <summary>Class names (classification), label names (multi-label), answers (vqa), output names (regression); null: numbered.</summary>
    public IReadOnlyList<string>? Labels { get; init; }

    /// <summary>Target statistics of the training split (class counts, or per-output mean and standard deviation); null: unknown.</summary>
    public TargetStatistics? Statistics { get; init; }

    /// <summary>Why <paramref name="name"/> cannot name a task, or null when it can.</summary>
    public static string? NameError(string? name) =>
        !string.IsNullOrEmpty(name) && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_' || c == '-')
            ? null
            : $"Task name '{name}' is not allowed; allowed: {AllowedNameDescription}.";
}
