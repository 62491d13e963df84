namespace SpatialNet.Heads;

/// <summary>The <c>caption</c> kind: a token sequence describing the image, <see cref="CaptionHead"/>.</summary>
public class CaptionTaskKind() : TaskKindRegistration<CaptionHeadOptions>("caption", TaskKind.Captioning, "captioning")
{
    /// <inheritdoc />
    public override TaskHead CreateHead(IServiceProvider services, string taskName, TokenLayout layout, CaptionHeadOptions options) =>
        new CaptionHead(taskName, layout, options);

    /// <inheritdoc />
    public override void UsePlaceholderSizes(TaskHeadOptions options, int modelNumHeads, Func<string, bool> isSet)
    {
        ArgumentNullException.ThrowIfNull(isSet);
        if (options is not CaptionHeadOptions c)
            return;
        c.VocabSize = 8;
        if (!isSet("num_heads"))
            c.NumHeads = modelNumHeads;
    }
}
