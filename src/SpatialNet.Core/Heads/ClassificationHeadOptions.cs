namespace SpatialNet.Heads;

/// <summary>Settings of a <see cref="ClassificationHead"/>.</summary>
public sealed class ClassificationHeadOptions : TaskHeadOptions
{
    /// <summary>Number of classes C; at least 1.</summary>
    public int NumClasses { get; set; }

    /// <summary>Label smoothing ε in [0, 1): the target puts 1 − ε on the true class and ε/C on every class.</summary>
    public double LabelSmoothing { get; set; }

    /// <summary>
    /// Per-class loss weights w_c (length C, each ≥ 0, not all 0); <c>null</c> weighs every class 1. In a configuration,
    /// <c>"class_weights": "balanced"</c> leaves them to the training data (SpatialNet.Training fills them in).
    /// </summary>
    public IList<double>? ClassWeights { get; set; }

    /// <summary>Target value that marks a sample without a label for this task (it adds nothing to the loss). Default −100.</summary>
    public long IgnoreIndex { get; set; } = -100;

    /// <inheritdoc />
    protected override void CollectErrors(string taskName, List<string> errors)
    {
        base.CollectErrors(taskName, errors);
        if (NumClasses < 1)
        {
            errors.Add(Message(taskName, nameof(NumClasses), NumClasses, "an integer >= 1"));
        }

        if (!(LabelSmoothing >= 0 && LabelSmoothing < 1))
        {
            errors.Add(Message(taskName, nameof(LabelSmoothing), LabelSmoothing, "a number in [0, 1)"));
        }

        if (ClassWeights is { } w)
        {
            var shown = FormatList(w);
            if (w.Count != NumClasses)
            {
                errors.Add(Message(taskName, nameof(ClassWeights), shown, $"null or {NumClasses} weights (one per class, NumClasses = {NumClasses})"));
            }
            else if (w.Any(x => !(x >= 0) || double.IsInfinity(x)) || w.All(x => x == 0))
            {
                errors.Add(Message(taskName, nameof(ClassWeights), shown, "finite weights >= 0, not all 0"));
            }
        }

        if (IgnoreIndex >= 0 && IgnoreIndex < NumClasses)
        {
            errors.Add(Message(taskName, nameof(IgnoreIndex), IgnoreIndex, $"a value outside the class range [0, {NumClasses})"));
        }
    }
}
