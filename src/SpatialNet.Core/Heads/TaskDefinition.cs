namespace SpatialNet.Heads;

/// <summary>
/// What every stage needs to know about a task, described once: its name (the key of its head,
/// predictions, targets and losses), its kind, and its loss weight λ_t (paper Eq. 6).
/// </summary>
/// <param name="Name">Task name.</param>
/// <param name="Kind">What the task predicts.</param>
/// <param name="LossWeight">λ_t of Eq. (6); 0 or more. Default 1.</param>
public sealed record TaskDefinition(string Name, TaskKind Kind, double LossWeight = 1.0)
{
    /// <summary>What a task name may contain: letters, digits, '_' and '-' (names become state-dict keys, so no '.').</summary>
    public const string AllowedNameDescription = "a non-empty name of letters, digits, '_' and '-'";

    /// <summary>Why <paramref name="name"/> cannot name a task, or null when it can.</summary>
    public static string? NameError(string? name) =>
        !string.IsNullOrEmpty(name) && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_' || c == '-')
            ? null
            : $"Task name '{name}' is not allowed; allowed: {AllowedNameDescription}.";
}
