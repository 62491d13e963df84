using SpatialNet.Heads;
using SpatialNet.Heads.Dense;
using SpatialNet.Modules;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SpatialNet.Models;

/// <summary>
/// The SpatialNet model: one shared image encoder and named task heads. The encoder runs once per
/// batch; every requested head reads its tokens [B, N, D] (plus its own named inputs).
/// </summary>
/// <remarks>
/// State-dict names: <c>encoder.*</c> (the encoder's own names, timm's for a VisionTransformer) and
/// <c>heads.{task}.*</c>. <c>forward(images)</c> runs every head without extra inputs;
/// <see cref="Forward(Tensor, IReadOnlyDictionary{string, Tensor}?, IEnumerable{string}?)"/> takes the batch's named inputs and a subset of tasks.
/// </remarks>
public sealed class MultiTaskModel : nn.Module<Tensor, Dictionary<string, Tensor>>
{
    private readonly nn.Module encoder;
    private readonly TaskHeadModules heads;
    // Held in a plain object: a field whose value is a module would be registered a second time.
    private readonly EncoderReference imageEncoder;
    private readonly string[] taskNames;

    /// <summary>Assembles the model.</summary>
    /// <param name="encoder">Shared encoder.</param>
    /// <param name="heads">One head per task; task names unique; each built for the encoder's token layout.</param>
    /// <exception cref="ArgumentException">No heads, a duplicate task name, or a head built for another token layout.</exception>
    public MultiTaskModel(IImageEncoder encoder, IEnumerable<TaskHead> heads) : base(nameof(MultiTaskModel))
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentNullException.ThrowIfNull(heads);
        var list = heads.ToArray();
        if (list.Length == 0)
        {
            throw new ArgumentException("A MultiTaskModel needs at least one task head.", nameof(heads));
        }

        var layout = TokenLayout.Of(encoder);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var head in list)
        {
            ArgumentNullException.ThrowIfNull(head, nameof(heads));
            if (!seen.Add(head.TaskName))
            {
                throw new ArgumentException($"Task name '{head.TaskName}' is used by more than one head; task names must be unique.", nameof(heads));
            }

            if (head.Layout != layout)
            {
                throw new ArgumentException(
                    $"Head of task '{head.TaskName}' was built for tokens with D = {head.Layout.EmbedDim} and {head.Layout.NumPrefixTokens} prefix tokens, " +
                    $"but the encoder produces D = {layout.EmbedDim} with {layout.NumPrefixTokens}.",
                    nameof(heads));
            }
        }

        imageEncoder = new EncoderReference(encoder);
        this.encoder = encoder.AsModule();
        this.heads = new TaskHeadModules(list);
        taskNames = list.Select(h => h.TaskName).ToArray();
        Layout = layout;
        RegisterComponents();
    }

    /// <summary>The shared encoder.</summary>
    public IImageEncoder Encoder => imageEncoder.Value;

    /// <summary>Token layout shared by encoder and heads.</summary>
    public TokenLayout Layout { get; }

    /// <summary>Task names in head order.</summary>
    public IReadOnlyList<string> TaskNames => taskNames;

    /// <summary>The head of <paramref name="task"/>.</summary>
    /// <exception cref="KeyNotFoundException">No such task; the message lists the model's tasks.</exception>
    public TaskHead Head(string task) => heads.TryGetValue(task, out var head)
        ? head
        : throw new KeyNotFoundException($"The model has no task '{task}'; its tasks: {string.Join(", ", taskNames)}.");

    /// <summary>
    /// Trainable encoder parameters the heads' tokens depend on: the parameters every task shares (see
    /// <c>LossContext.SharedParameters</c>). A <see cref="VisionTransformer"/>'s own classifier <c>head</c> is not among them.
    /// </summary>
    public IReadOnlyList<Parameter> SharedParameters() =>
        (imageEncoder.Value is VisionTransformer vit ? vit.TokenParameters() : encoder.parameters()).Where(p => p.requires_grad).ToArray();

    /// <summary>Runs every head on the images, with no extra inputs.</summary>
    public override Dictionary<string, Tensor> forward(Tensor images) => Forward(images);

    /// <summary>
    /// Optional input (int64 [B]): the row of <c>images</c> each sample reads, so that a batch of many
    /// questions about few images encodes each image once.
    /// </summary>
    public const string ImageIndexInput = "image_index";

    /// <summary>
    /// Encodes <paramref name="images"/> once and runs the heads of <paramref name="tasks"/> (all when null).
    /// </summary>
    /// <param name="images">Images [B, C, H, W], or [U, C, H, W] distinct images with <see cref="ImageIndexInput"/> [B] among the inputs.</param>
    /// <param name="inputs">The batch's named inputs; each head reads its <see cref="TaskHead.InputNames"/>. Null means none.</param>
    /// <param name="tasks">Tasks to run (a batch from one dataset carries only its own); null runs all.</param>
    /// <returns>Task name → the head's <c>forward</c> output.</returns>
    /// <exception cref="KeyNotFoundException">An unknown task, or a head's input missing from <paramref name="inputs"/>.</exception>
    public Dictionary<string, Tensor> Forward(Tensor images, IReadOnlyDictionary<string, Tensor>? inputs = null, IEnumerable<string>? tasks = null)
    {
        var predictions = Forward(images, inputs, tasks, out var representation);
        representation.Dispose();   // the heads' graph keeps what it needs
        return predictions;
    }

    /// <summary>
    /// As <see cref="Forward(Tensor, IReadOnlyDictionary{string, Tensor}?, IEnumerable{string}?)"/>, also returning
    /// the representation the heads read (the encoder's tokens, per sample), for gradient strategies that work on
    /// the representation's gradients instead of the encoder's parameters.
    /// </summary>
    /// <param name="images">Images [B, C, H, W] (or distinct images with <see cref="ImageIndexInput"/>).</param>
    /// <param name="inputs">The batch's named inputs.</param>
    /// <param name="tasks">Tasks to run; null runs all.</param>
    /// <param name="representation">The tokens the heads read, with their graph.</param>
    public Dictionary<string, Tensor> Forward(Tensor images, IReadOnlyDictionary<string, Tensor>? inputs, IEnumerable<string>? tasks, out Tensor representation)
    {
        ArgumentNullException.ThrowIfNull(images);
        var selected = tasks is null ? taskNames : tasks.Distinct(StringComparer.Ordinal).Select(t => Head(t).TaskName).ToArray();
        var batchInputs = inputs ?? TaskHead.NoInputs;
        using var scope = NewDisposeScope();
        var levels = selected.Select(Head).OfType<IEncoderLevelReader>().SelectMany(h => h.EncoderLevels).Distinct().ToArray();
        Tensor tokens;
        IReadOnlyList<Tensor> grids = [];
        if (levels.Length == 0)
            tokens = imageEncoder.Value.ForwardTokens(images);
        else if (imageEncoder.Value is VisionTransformer vit)
            (tokens, grids) = vit.ForwardIntermediates(images, levels, normalize: true);
        else
            throw new NotSupportedException($"Tasks {string.Join(", ", selected.Where(t => Head(t) is IEncoderLevelReader))} read encoder block outputs, which only a VisionTransformer encoder provides; this encoder is a {imageEncoder.Value.GetType().Name}.");
        // Image-deduplicated batch: U distinct images encoded once, each sample takes its image's tokens
        // (index_select's backward sums the samples' gradients into their image).
        if (batchInputs.TryGetValue(ImageIndexInput, out var imageIndex))
        {
            var index = imageIndex.device == tokens.device ? imageIndex : imageIndex.to(tokens.device);
            tokens = tokens.index_select(0, index);
            grids = [.. grids.Select(g => g.index_select(0, index))];
        }
        if (grids.Count > 0)
        {
            var withLevels = new Dictionary<string, Tensor>(batchInputs, StringComparer.Ordinal);
            for (int i = 0; i < levels.Length; i++) withLevels[EncoderLevelInputs.InputName(levels[i])] = grids[i];
            batchInputs = withLevels;
        }
        var predictions = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var task in selected)
        {
            predictions[task] = Head(task).call(tokens, batchInputs).MoveToOuterDisposeScope();
        }

        representation = tokens.MoveToOuterDisposeScope();
        return predictions;
    }

    /// <summary>
    /// Each task's loss for the tasks that have both predictions and targets (a batch carries only
    /// its dataset's targets; other tasks are left out, not zero-filled).
    /// </summary>
    /// <param name="predictions">Output of <see cref="Forward(Tensor, IReadOnlyDictionary{string, Tensor}?, IEnumerable{string}?)"/>.</param>
    /// <param name="targets">Task name → targets.</param>
    /// <param name="inputs">The batch's named inputs, for heads whose loss needs them.</param>
    public Dictionary<string, Tensor> Losses(
        IReadOnlyDictionary<string, Tensor> predictions,
        IReadOnlyDictionary<string, Tensor> targets,
        IReadOnlyDictionary<string, Tensor>? inputs = null)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        ArgumentNullException.ThrowIfNull(targets);
        var losses = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (task, prediction) in predictions)
        {
            if (targets.TryGetValue(task, out var target))
            {
                losses[task] = Head(task).Loss(prediction, target, inputs);
            }
        }

        return losses;
    }

    /// <summary>Each task's inference output (<see cref="TaskHead.Predict"/>) of <paramref name="predictions"/>.</summary>
    public Dictionary<string, Tensor> Predict(IReadOnlyDictionary<string, Tensor> predictions)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        return predictions.ToDictionary(p => p.Key, p => Head(p.Key).Predict(p.Value), StringComparer.Ordinal);
    }

    private sealed class EncoderReference(IImageEncoder value)
    {
        public IImageEncoder Value { get; } = value;
    }
}
