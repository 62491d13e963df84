namespace SpatialNet.Heads;

/// <summary>The <c>vqa</c> kind: an answer to a question about the image, <see cref="VqaHead"/>.</summary>
public class VqaTaskKind() : TaskKindRegistration<VqaHeadOptions>("vqa", TaskKind.VisualQuestionAnswering, "visual_question_answering")
{
    /// <inheritdoc />
    public override TaskHead CreateHead(IServiceProvider services, string taskName, TokenLayout layout, VqaHeadOptions options) =>
        new VqaHead(taskName, layout, options);

    /// <inheritdoc />
    public override void UsePlaceholderSizes(TaskHeadOptions options, int modelNumHeads, Func<string, bool> isSet)
    {
        ArgumentNullException.ThrowIfNull(isSet);
        if (options is not VqaHeadOptions v)
            return;
        v.NumAnswers = 2;
        v.VocabSize = 8;
        if (!isSet("num_heads"))
            v.NumHeads = modelNumHeads;
    }
}
