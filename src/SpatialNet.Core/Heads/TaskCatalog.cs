using System.Collections;

namespace SpatialNet.Heads;

/// <summary>
/// The tasks of one model, in registration order, with unique names. Loss composers that keep
/// per-task state (uncertainty weighting) or per-task weights read it; dependency injection
/// registers one built from the configured tasks.
/// </summary>
public sealed class TaskCatalog : IReadOnlyList<TaskDefinition>
{
    private readonly TaskDefinition[] tasks;
    private readonly Dictionary<string, TaskDefinition> byName;

    /// <summary>Creates the catalog.</summary>
    /// <param name="tasks">Task definitions; names non-empty and unique, weights finite and ≥ 0.</param>
    /// <exception cref="ArgumentException">An empty or duplicate name, or an invalid weight.</exception>
    public TaskCatalog(params IEnumerable<TaskDefinition> tasks)
    {
        ArgumentNullException.ThrowIfNull(tasks);
        this.tasks = tasks.ToArray();
        byName = new Dictionary<string, TaskDefinition>(StringComparer.Ordinal);
        foreach (var task in this.tasks)
        {
            ArgumentNullException.ThrowIfNull(task, nameof(tasks));
            if (TaskDefinition.NameError(task.Name) is { } error)
            {
                throw new ArgumentException(error, nameof(tasks));
            }

            if (!(task.LossWeight >= 0) || double.IsInfinity(task.LossWeight))
            {
                throw new ArgumentException(
                    $"Task '{task.Name}': LossWeight = {task.LossWeight} is not allowed; allowed: a finite number >= 0.", nameof(tasks));
            }

            if (!byName.TryAdd(task.Name, task))
            {
                throw new ArgumentException($"Task name '{task.Name}' is used more than once; task names must be unique.", nameof(tasks));
            }
        }
    }

    /// <summary>Number of tasks.</summary>
    public int Count => tasks.Length;

    /// <summary>The task at <paramref name="index"/> (registration order).</summary>
    public TaskDefinition this[int index] => tasks[index];

    /// <summary>The task named <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No such task; the message lists the known ones.</exception>
    public TaskDefinition this[string name] => byName.TryGetValue(name, out var task)
        ? task
        : throw new KeyNotFoundException($"Unknown task '{name}'; known tasks: {string.Join(", ", Names)}.");

    /// <summary>Task names in registration order.</summary>
    public IEnumerable<string> Names => tasks.Select(t => t.Name);

    /// <summary>Whether a task named <paramref name="name"/> exists.</summary>
    public bool Contains(string name) => byName.ContainsKey(name);

    /// <summary>Position of task <paramref name="name"/> in registration order, or −1.</summary>
    public int IndexOf(string name) => Array.FindIndex(tasks, t => t.Name == name);

    /// <inheritdoc />
    public IEnumerator<TaskDefinition> GetEnumerator() => ((IEnumerable<TaskDefinition>)tasks).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
