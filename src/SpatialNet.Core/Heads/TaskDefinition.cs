namespace SpatialNet.Heads;

/// <summary>
/// What every stage needs to know about a task, described once: its name (the key of its head,
/// predictions, targets and losses), its kind, and its loss weight λ_t (paper Eq. 6).
/// </summary>
/// <param name="Name">Task name.</param>
/// <param name="Kind">What the task predicts.</param>
/// <param name="LossWeight">λ_t of Eq. (6); 0 or more. Default 1.</param>
public sealed record TaskDefinition(string Name, TaskKind Kind, double LossWeight = 1.0);
