using SpatialNet.DependencyInjection;
using SpatialNet.Heads;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the multimodal tasks — visual question answering and captioning — to a SpatialNet model.</summary>
/// <remarks>
/// Both go through <see cref="SpatialNetBuilder.AddTask{TOptions}"/>: named options (options name =
/// task name) validated at start, a <see cref="TaskDefinition"/> in the <see cref="TaskCatalog"/>,
/// and a keyed head factory that <see cref="SpatialNetBuilder.UseHead"/> can replace.
/// </remarks>
public static class MultimodalTaskBuilderExtensions
{
    /// <summary>Adds a visual-question-answering task with a <see cref="VqaHead"/>.</summary>
    /// <param name="builder">The SpatialNet builder.</param>
    /// <param name="name">Task name (options name of its <see cref="VqaHeadOptions"/>).</param>
    /// <param name="answers">Size of the answer vocabulary.</param>
    /// <param name="vocabSize">Size of the question vocabulary (padding id included).</param>
    /// <param name="configure">Further settings (fusion, question encoder depth, count branch, label smoothing, λ_t, …).</param>
    /// <param name="questionEncoder">
    /// Creates a question encoder to use instead of the default transformer (from the services, the
    /// image encoder's token layout and the task's options); null keeps the default.
    /// </param>
    /// <example>
    /// <code>
    /// services.AddSpatialNet(sn => sn
    ///     .AddClassificationTask("land_use", classes: 21)
    ///     .AddVqaTask("rsvqa", answers: 9, vocabSize: 120, o => o.Fusion = VqaFusionKind.CrossAttention));
    /// </code>
    /// </example>
    public static SpatialNetBuilder AddVqaTask(this SpatialNetBuilder builder, string name, int answers, int vocabSize,
        Action<VqaHeadOptions>? configure = null,
        Func<IServiceProvider, TokenLayout, VqaHeadOptions, IQuestionEncoder>? questionEncoder = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddTask<VqaHeadOptions>(name, TaskKind.VisualQuestionAnswering,
            (sp, layout, o) => new VqaHead(name, layout, o, questionEncoder?.Invoke(sp, layout, o)),
            o =>
            {
                o.NumAnswers = answers;
                o.VocabSize = vocabSize;
                configure?.Invoke(o);
            });
    }

    /// <summary>Adds a captioning task with a <see cref="CaptionHead"/> (transformer decoder).</summary>
    /// <param name="builder">The SpatialNet builder.</param>
    /// <param name="name">Task name (options name of its <see cref="CaptionHeadOptions"/>).</param>
    /// <param name="vocabSize">Size of the caption vocabulary (padding, start and end ids included).</param>
    /// <param name="maxLength">Longest caption sequence with its start and end tokens.</param>
    /// <param name="configure">Further settings (decoder depth, tied embeddings, special ids, decoding, label smoothing, λ_t, …).</param>
    public static SpatialNetBuilder AddCaptionTask(this SpatialNetBuilder builder, string name, int vocabSize, int maxLength,
        Action<CaptionHeadOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddTask<CaptionHeadOptions>(name, TaskKind.Captioning,
            (_, layout, o) => new CaptionHead(name, layout, o),
            o =>
            {
                o.VocabSize = vocabSize;
                o.MaxLength = maxLength;
                configure?.Invoke(o);
            });
    }
}
