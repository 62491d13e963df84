namespace SpatialNet.Heads;

/// <summary>The <c>regression</c> kind: one or more real values per image, <see cref="RegressionHead"/> (paper Eq. 8).</summary>
public class RegressionTaskKind() : TaskKindRegistration<RegressionHeadOptions>("regression", TaskKind.Regression)
{
    /// <inheritdoc />
    public override TaskHead CreateHead(IServiceProvider services, string taskName, TokenLayout layout, RegressionHeadOptions options) =>
        new RegressionHead(taskName, layout, options);
}
