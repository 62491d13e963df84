namespace SpatialNet.Heads;

/// <summary>Settings of a <see cref="MultiLabelHead"/>.</summary>
public sealed class MultiLabelHeadOptions : TaskHeadOptions
{
    /// <summary>Number of labels L; at least 1.</summary>
    public int NumLabels { get; set; }

    /// <summary>
    /// Weight of the positive term per label (length L, each > 0), e.g. negatives/positives to
    /// counter rare labels; <c>null</c> weighs both terms 1.
    /// </summary>
    public IList<double>? PositiveWeights { get; set; }

    /// <inheritdoc />
    protected override void CollectErrors(string taskName, List<string> errors)
    {
        base.CollectErrors(taskName, errors);
        if (NumLabels < 1)
        {
            errors.Add(Message(taskName, nameof(NumLabels), NumLabels, "an integer >= 1"));
        }

        if (PositiveWeights is { } w)
        {
            var shown = FormatList(w);
            if (w.Count != NumLabels)
            {
                errors.Add(Message(taskName, nameof(PositiveWeights), shown, $"null or {NumLabels} weights (one per label, NumLabels = {NumLabels})"));
            }
            else if (w.Any(x => !(x > 0) || double.IsInfinity(x)))
            {
                errors.Add(Message(taskName, nameof(PositiveWeights), shown, "finite weights > 0"));
            }
        }
    }
}
