namespace SpatialNet.Heads;

/// <summary>
/// One kind of task, under the name configuration writes in <c>tasks:N:kind</c>: its head options type and its head.
/// Registered with <c>services.AddTaskKind(…)</c>; <c>AddSpatialNet</c> registers the built-in kinds
/// (<see cref="ClassificationTaskKind"/>, <see cref="RegressionTaskKind"/>, <see cref="MultiLabelTaskKind"/>,
/// <see cref="VqaTaskKind"/>, <see cref="CaptionTaskKind"/>) the same way. Derive from <see cref="TaskKindRegistration{TOptions}"/>.
/// </summary>
public abstract class TaskKindRegistration
{
    private readonly string[] aliases;

    /// <summary>Creates the registration.</summary>
    /// <param name="name">The name configuration uses (letters, digits and <c>_</c>, e.g. <c>multi_label</c>).</param>
    /// <param name="kind">What the task predicts, as its head and task definition report it.</param>
    /// <param name="aliases">Former spellings configuration still accepts.</param>
    protected TaskKindRegistration(string name, TaskKind kind, params string[] aliases)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (!name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
            throw new ArgumentException($"Task kind name '{name}' is not allowed; allowed: letters, digits and '_'.", nameof(name));
        Name = name;
        Kind = kind;
        this.aliases = aliases ?? [];
    }

    /// <summary>The name configuration uses (<c>tasks:N:kind</c>), reports and prediction files write.</summary>
    public string Name { get; }

    /// <summary>What the task predicts.</summary>
    public TaskKind Kind { get; }

    /// <summary>The head options type that <c>tasks:N:head</c> binds onto.</summary>
    public abstract Type HeadOptionsType { get; }

    /// <summary>New head options with their defaults.</summary>
    public abstract TaskHeadOptions NewHeadOptions();

    /// <summary>Registers task <paramref name="taskName"/> of this kind through <paramref name="registrar"/> (its head options type is known here).</summary>
    internal abstract void AddTo(ITaskKindRegistrar registrar, string taskName, Action<TaskHeadOptions>? configure);

    /// <summary>
    /// Sets the sizes the data decides (classes, vocabularies) to valid placeholders on a copy of configured head options,
    /// so that their own rules can be checked before the data is read. Default: nothing.
    /// </summary>
    /// <param name="options">The copy (of <see cref="HeadOptionsType"/>).</param>
    /// <param name="modelNumHeads">The encoder's attention heads (a default some heads take).</param>
    /// <param name="isSet">Whether configuration sets a head key (snake_case, e.g. <c>num_heads</c>).</param>
    public virtual void UsePlaceholderSizes(TaskHeadOptions options, int modelNumHeads, Func<string, bool> isSet)
    {
    }

    /// <summary>Whether configuration's <paramref name="name"/> names this kind (case, <c>_</c> and <c>-</c> ignored; former spellings too).</summary>
    public bool IsNamed(string? name)
    {
        if (name is null)
            return false;
        var n = Normalize(name);
        return n == Normalize(Name) || aliases.Any(a => Normalize(a) == n);
    }

    // As configuration keys compare: lower case without '_' and '-'.
    private static string Normalize(string s) => string.Concat(s.Where(c => c is not ('_' or '-')).Select(char.ToLowerInvariant));
}

/// <summary>A task kind whose head options are <typeparamref name="TOptions"/>.</summary>
/// <typeparam name="TOptions">The head options type.</typeparam>
/// <param name="name">The name configuration uses.</param>
/// <param name="kind">What the task predicts.</param>
/// <param name="aliases">Former spellings configuration still accepts.</param>
public abstract class TaskKindRegistration<TOptions>(string name, TaskKind kind, params string[] aliases) : TaskKindRegistration(name, kind, aliases)
    where TOptions : TaskHeadOptions, new()
{
    /// <inheritdoc />
    public override Type HeadOptionsType => typeof(TOptions);

    /// <inheritdoc />
    public override TaskHeadOptions NewHeadOptions() => new TOptions();

    /// <summary>Builds the head of task <paramref name="taskName"/>.</summary>
    /// <param name="services">The services.</param>
    /// <param name="taskName">The task's name.</param>
    /// <param name="layout">The encoder's token layout.</param>
    /// <param name="options">The task's head options.</param>
    public abstract TaskHead CreateHead(IServiceProvider services, string taskName, TokenLayout layout, TOptions options);

    /// <inheritdoc />
    internal override void AddTo(ITaskKindRegistrar registrar, string taskName, Action<TaskHeadOptions>? configure) =>
        registrar.Add(this, taskName, configure);
}

/// <summary>Adds a task of a registered kind to a service collection (implemented by the dependency-injection layer).</summary>
internal interface ITaskKindRegistrar
{
    /// <summary>Registers task <paramref name="taskName"/> of <paramref name="kind"/>: named head options, task definition, head factory.</summary>
    void Add<TOptions>(TaskKindRegistration<TOptions> kind, string taskName, Action<TaskHeadOptions>? configure)
        where TOptions : TaskHeadOptions, new();
}
