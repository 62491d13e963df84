namespace SpatialNet.Heads;

/// <summary>The <c>classification</c> kind: one class out of C per image, <see cref="ClassificationHead"/> (paper Eq. 7).</summary>
public class ClassificationTaskKind() : TaskKindRegistration<ClassificationHeadOptions>("classification", TaskKind.Classification)
{
    /// <inheritdoc />
    public override TaskHead CreateHead(IServiceProvider services, string taskName, TokenLayout layout, ClassificationHeadOptions options) =>
        new ClassificationHead(taskName, layout, options);

    /// <inheritdoc />
    public override void UsePlaceholderSizes(TaskHeadOptions options, int modelNumHeads, Func<string, bool> isSet)
    {
        // Without num_classes the data decides the class count; class_weights is checked against it when the data is opened.
        if (options is ClassificationHeadOptions { NumClasses: 0 } c)
            c.NumClasses = c.ClassWeights is { Count: > 0 } w ? w.Count : 2;
    }
}
