namespace SpatialNet.Heads;

/// <summary>
/// Settings every task has. In dependency injection these are named options: the options name is
/// the task name (<c>IOptionsMonitor&lt;ClassificationHeadOptions&gt;.Get("land_use")</c>).
/// </summary>
public abstract class TaskHeadOptions
{
    /// <summary>
    /// Pooling of encoder tokens. <c>null</c> (default) picks <see cref="PoolingKind.ClassToken"/>
    /// when the encoder has a class token and <see cref="PoolingKind.Mean"/> otherwise.
    /// </summary>
    public PoolingKind? Pooling { get; set; }

    /// <summary>Heads of attention pooling; must divide the encoder width D. Default 1.</summary>
    public int AttentionPoolHeads { get; set; } = 1;

    /// <summary>
    /// LayerNorm (eps 1e-6) on the pooled vector. Off by default because the encoder's tokens are
    /// already normalised; turn it on for encoders that leave normalisation to pooling
    /// (a VisionTransformer with <c>GlobalPool = Average</c> applies <c>fc_norm</c> only in its own pooling).
    /// </summary>
    public bool PooledNorm { get; set; }

    /// <summary>Dropout on the pooled vector before the output layer, in [0, 1). Default 0.</summary>
    public double Dropout { get; set; }

    /// <summary>Loss weight λ_t of this task in the paper's Eq. (6); 0 or more. Default 1.</summary>
    public double LossWeight { get; set; } = 1.0;

    /// <summary>The pooling to use for an encoder with <paramref name="layout"/>.</summary>
    public PoolingKind ResolvePooling(TokenLayout layout) =>
        Pooling ?? (layout.NumPrefixTokens > 0 ? PoolingKind.ClassToken : PoolingKind.Mean);

    /// <summary>
    /// Every problem with these settings, each naming the task, the option and the allowed values;
    /// empty when they are valid.
    /// </summary>
    /// <param name="taskName">Task the options belong to (used in the messages).</param>
    /// <param name="layout">
    /// The encoder's token layout when known; adds the checks that depend on it (attention heads
    /// dividing D, class-token pooling needing a class token).
    /// </param>
    public IReadOnlyList<string> Validate(string taskName, TokenLayout? layout = null)
    {
        var errors = new List<string>();
        CollectErrors(taskName, errors);
        if (layout is { } l && l.EmbedDim > 0)
        {
            if (AttentionPoolHeads >= 1 && ResolvePooling(l) == PoolingKind.Attention && l.EmbedDim % AttentionPoolHeads != 0)
            {
                errors.Add(Message(taskName, nameof(AttentionPoolHeads), AttentionPoolHeads, $"a positive divisor of the encoder width D = {l.EmbedDim}"));
            }

            if (ResolvePooling(l) == PoolingKind.ClassToken && l.NumPrefixTokens < 1)
            {
                errors.Add(Message(taskName, nameof(Pooling), PoolingKind.ClassToken, "Mean, Attention or null (the encoder has no class token)"));
            }

            CollectLayoutErrors(taskName, l, errors);
        }

        return errors;
    }

    /// <summary>Adds the problems of the kind-specific settings to <paramref name="errors"/>; overrides call the base.</summary>
    protected virtual void CollectErrors(string taskName, List<string> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (AttentionPoolHeads < 1)
        {
            errors.Add(Message(taskName, nameof(AttentionPoolHeads), AttentionPoolHeads, "an integer >= 1 that divides the encoder width D"));
        }

        if (!(Dropout >= 0 && Dropout < 1))
        {
            errors.Add(Message(taskName, nameof(Dropout), Dropout, "a number in [0, 1)"));
        }

        if (!(LossWeight >= 0) || double.IsInfinity(LossWeight))
        {
            errors.Add(Message(taskName, nameof(LossWeight), LossWeight, "a finite number >= 0 (λ_t of Eq. 6)"));
        }

        if (Pooling is { } pooling && !Enum.IsDefined(pooling))
        {
            errors.Add(Message(taskName, nameof(Pooling), pooling, "ClassToken, Mean, Attention or null (automatic)"));
        }
    }

    /// <summary>
    /// Adds the problems of kind-specific settings that depend on the encoder's token layout (for
    /// example attention heads that must divide D); called by <see cref="Validate"/> when the layout is known.
    /// </summary>
    protected virtual void CollectLayoutErrors(string taskName, TokenLayout layout, List<string> errors)
    {
    }

    /// <summary>A validation message: task, option (with the options type), value and allowed values.</summary>
    protected string Message(string taskName, string option, object? value, string allowed) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"Task '{taskName}': {GetType().Name}.{option} = {value ?? "null"} is not allowed; allowed: {allowed}.");

    /// <summary>A list of numbers as "[a, b, c]" in invariant culture, for messages.</summary>
    protected static string FormatList(IEnumerable<double> values) =>
        "[" + string.Join(", ", values.Select(v => v.ToString(System.Globalization.CultureInfo.InvariantCulture))) + "]";

    /// <summary>Throws <see cref="ArgumentException"/> with every problem if the settings are invalid.</summary>
    /// <exception cref="ArgumentException">At least one setting is invalid.</exception>
    /// <param name="taskName">Task the options belong to.</param>
    /// <param name="layout">The encoder's token layout, when known.</param>
    public void ThrowIfInvalid(string taskName, TokenLayout? layout = null)
    {
        var errors = Validate(taskName, layout);
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join(Environment.NewLine, errors));
        }
    }
}
