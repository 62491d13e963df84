using SpatialNet.Heads;

namespace SpatialNet.Models;

/// <summary>
/// Creates the head of one task. Dependency injection registers one per task as a keyed service
/// whose key is the task name; register another under that key to replace a head.
/// </summary>
public interface ITaskHeadFactory
{
    /// <summary>A new head for tokens of <paramref name="layout"/>.</summary>
    TaskHead Create(TokenLayout layout);
}

/// <summary>An <see cref="ITaskHeadFactory"/> from a delegate.</summary>
/// <param name="create">Creates the head for a token layout.</param>
public sealed class DelegateTaskHeadFactory(Func<TokenLayout, TaskHead> create) : ITaskHeadFactory
{
    private readonly Func<TokenLayout, TaskHead> create = create ?? throw new ArgumentNullException(nameof(create));

    /// <inheritdoc />
    public TaskHead Create(TokenLayout layout) => create(layout);
}
