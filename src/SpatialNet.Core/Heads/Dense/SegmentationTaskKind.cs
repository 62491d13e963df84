using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SpatialNet.Modules;

namespace SpatialNet.Heads.Dense;

/// <summary>The <c>segmentation</c> kind: one class out of C for every pixel, <see cref="SegmentationHead"/>.</summary>
internal class SegmentationTaskKind() : TaskKindRegistration<SegmentationHeadOptions>("segmentation", Kind)
{
    /// <summary>The kind's value.</summary>
    public static new TaskKind Kind { get; } = new("segmentation");

    /// <inheritdoc />
    public override TaskHead CreateHead(IServiceProvider services, string taskName, TokenLayout layout, SegmentationHeadOptions options) =>
        new SegmentationHead(taskName, layout, options, DenseTaskKinds.PatchSize(services, options));

    /// <inheritdoc />
    public override void UsePlaceholderSizes(TaskHeadOptions options, int modelNumHeads, Func<string, bool> isSet)
    {
        if (options is SegmentationHeadOptions { NumClasses: 0 } s)
            s.NumClasses = 2;
    }
}

/// <summary>The <c>pixel_regression</c> kind: one or more values for every pixel, <see cref="PixelRegressionHead"/>.</summary>
internal class PixelRegressionTaskKind() : TaskKindRegistration<PixelRegressionHeadOptions>("pixel_regression", Kind)
{
    /// <summary>The kind's value.</summary>
    public static new TaskKind Kind { get; } = new("pixel_regression");

    /// <inheritdoc />
    public override TaskHead CreateHead(IServiceProvider services, string taskName, TokenLayout layout, PixelRegressionHeadOptions options) =>
        new PixelRegressionHead(taskName, layout, options, DenseTaskKinds.PatchSize(services, options));
}

internal static class DenseTaskKinds
{
    /// <summary>The head's patch size, else the configured encoder's; unset levels become the encoder's quarter ends.</summary>
    public static int PatchSize(IServiceProvider services, DenseHeadOptions options)
    {
        var encoder = services.GetRequiredService<IOptions<VisionTransformerOptions>>().Value;
        options.Levels ??= DenseHeadOptions.QuarterLevels(encoder.Depth);
        return options.PatchSize > 0 ? options.PatchSize : encoder.PatchSize;
    }
}
