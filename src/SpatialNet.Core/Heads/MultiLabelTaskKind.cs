namespace SpatialNet.Heads;

/// <summary>The <c>multi_label</c> kind: any subset of L labels per image, <see cref="MultiLabelHead"/>.</summary>
public class MultiLabelTaskKind() : TaskKindRegistration<MultiLabelHeadOptions>("multi_label", TaskKind.MultiLabel)
{
    /// <inheritdoc />
    public override TaskHead CreateHead(IServiceProvider services, string taskName, TokenLayout layout, MultiLabelHeadOptions options) =>
        new MultiLabelHead(taskName, layout, options);

    /// <inheritdoc />
    public override void UsePlaceholderSizes(TaskHeadOptions options, int modelNumHeads, Func<string, bool> isSet)
    {
        if (options is MultiLabelHeadOptions l)
            l.NumLabels = Math.Max(l.NumLabels, 1);
    }
}
