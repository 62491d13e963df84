namespace SpatialNet.Heads;

/// <summary>
/// What a task predicts, by the name configuration, reports and prediction files use (<c>classification</c>,
/// <c>multi_label</c>, …). Open: a registered <see cref="TaskKindRegistration"/> may name a kind of its own.
/// Stages that must treat tasks differently (the uncertainty-weighted loss, metric selection, reports) read it
/// from the head or the task definition instead of guessing.
/// </summary>
public readonly record struct TaskKind
{
    private readonly string? name;

    /// <summary>A kind named <paramref name="name"/>.</summary>
    /// <param name="name">Letters, digits and <c>_</c>.</param>
    public TaskKind(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (!name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
            throw new ArgumentException($"Task kind name '{name}' is not allowed; allowed: letters, digits and '_'.", nameof(name));
        this.name = name;
    }

    /// <summary>The kind's name (<c>classification</c>, <c>regression</c>, <c>multi_label</c>, <c>vqa</c>, <c>caption</c>, or a registered kind's).</summary>
    public string Name => name ?? "classification";

    /// <summary>One class out of C per image (softmax + cross-entropy, paper Eq. 7).</summary>
    public static TaskKind Classification { get; } = new("classification");

    /// <summary>One or more real values per image, e.g. object counts (MSE, paper Eq. 8).</summary>
    public static TaskKind Regression { get; } = new("regression");

    /// <summary>Any subset of L labels per image (sigmoid + binary cross-entropy).</summary>
    public static TaskKind MultiLabel { get; } = new("multi_label");

    /// <summary>An answer to a natural-language question about the image.</summary>
    public static TaskKind VisualQuestionAnswering { get; } = new("vqa");

    /// <summary>A token sequence describing the image.</summary>
    public static TaskKind Captioning { get; } = new("caption");

    /// <summary>Whether both name the same kind (the default value is <see cref="Classification"/>).</summary>
    public bool Equals(TaskKind other) => string.Equals(Name, other.Name, StringComparison.Ordinal);

    /// <inheritdoc />
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Name);

    /// <inheritdoc />
    public override string ToString() => Name;
}
