using System.Collections.ObjectModel;
using TorchSharp;
using static TorchSharp.torch;

namespace SpatialNet.Heads;

/// <summary>
/// The contract every task head fulfils. A head turns the shared encoder's tokens [B, N, D] — plus
/// any named inputs of its own, such as question or caption tokens — into predictions of any shape
/// (a vector per image, or a sequence), scores them against targets with its loss and turns them
/// into user-facing outputs at inference.
/// </summary>
/// <remarks>
/// <para>
/// <c>forward(tokens, inputs)</c> returns the raw training-time output (logits, normalised values,
/// teacher-forced sequence logits). <see cref="Loss"/> consumes that output; <see cref="Predict"/>
/// maps it to the inference output (probabilities, de-normalised values, token ids). Keeping the
/// three apart lets the loss use numerically stable fused forms (log-softmax inside
/// cross-entropy, logits inside BCE) while inference still returns probabilities.
/// </para>
/// <para>
/// <c>inputs</c> in <c>forward</c> and <see cref="Loss"/> is the batch's dictionary of
/// named tensors; a head reads only the entries listed in <see cref="InputNames"/>, so heads that
/// need nothing (classification, regression) ignore it and multimodal heads (VQA, captioning)
/// pick their own text tensors and masks.
/// </para>
/// </remarks>
public abstract class TaskHead : nn.Module<Tensor, IReadOnlyDictionary<string, Tensor>, Tensor>
{
    /// <summary>An empty input dictionary, for heads called with tokens only.</summary>
    public static IReadOnlyDictionary<string, Tensor> NoInputs { get; } =
        new ReadOnlyDictionary<string, Tensor>(new Dictionary<string, Tensor>());

    /// <summary>Creates the head of task <paramref name="taskName"/> reading tokens of <paramref name="layout"/>.</summary>
    /// <param name="taskName">Task name (also the key in the model's head dictionary and in targets).</param>
    /// <param name="layout">Token width and prefix count of the encoder.</param>
    /// <exception cref="ArgumentException"><paramref name="taskName"/> is not a valid task name (<see cref="TaskDefinition.NameError"/>).</exception>
    protected TaskHead(string taskName, TokenLayout layout) : base(RequireName(taskName))
    {
        layout.Validate();
        TaskName = taskName;
        Layout = layout;
    }

    /// <summary>Task this head serves.</summary>
    public string TaskName { get; }

    /// <summary>Token layout the head was built for.</summary>
    public TokenLayout Layout { get; }

    /// <summary>What the task predicts.</summary>
    public abstract TaskKind Kind { get; }

    /// <summary>Names of the batch entries <c>forward</c> needs besides the tokens (none by default).</summary>
    public virtual IReadOnlyList<string> InputNames => [];

    /// <summary>Runs the head on tokens alone (for heads whose <see cref="InputNames"/> is empty).</summary>
    public Tensor call(Tensor tokens) => call(tokens, NoInputs);

    /// <summary>
    /// The task's loss (a 0-dim tensor) of <paramref name="predictions"/> — the output of
    /// <c>forward</c> — against <paramref name="targets"/>.
    /// </summary>
    /// <param name="predictions">Output of <c>forward</c>.</param>
    /// <param name="targets">Targets of the batch for this task.</param>
    /// <param name="inputs">The batch's named inputs (for heads whose loss needs masks or lengths); may be null.</param>
    public abstract Tensor Loss(Tensor predictions, Tensor targets, IReadOnlyDictionary<string, Tensor>? inputs = null);

    /// <summary>Maps the output of <c>forward</c> to the inference output (probabilities, values in target units, ids).</summary>
    public abstract Tensor Predict(Tensor predictions);

    /// <summary>
    /// The named input <paramref name="name"/> of the batch, or an exception naming the task, the
    /// missing entry and the entries that are there.
    /// </summary>
    /// <exception cref="KeyNotFoundException">The batch has no entry <paramref name="name"/>.</exception>
    protected Tensor GetInput(IReadOnlyDictionary<string, Tensor>? inputs, string name)
    {
        if (inputs is not null && inputs.TryGetValue(name, out var value))
        {
            return value;
        }

        var present = inputs is null || inputs.Count == 0 ? "none" : string.Join(", ", inputs.Keys.Order(StringComparer.Ordinal));
        throw new KeyNotFoundException($"Task '{TaskName}' ({GetType().Name}) needs input '{name}'; the batch has: {present}.");
    }

    /// <summary>Throws unless <paramref name="tokens"/> is [B, N, D] with this head's D.</summary>
    /// <exception cref="ArgumentException">Wrong rank or width.</exception>
    protected void CheckTokens(Tensor tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        if (tokens.dim() != 3 || tokens.shape[2] != Layout.EmbedDim)
        {
            throw new ArgumentException(
                $"Task '{TaskName}' expects encoder tokens [B, N, {Layout.EmbedDim}]; got [{string.Join(", ", tokens.shape)}].",
                nameof(tokens));
        }
    }

    private static string RequireName(string taskName) => TaskDefinition.NameError(taskName) is { } error
        ? throw new ArgumentException(error, nameof(taskName))
        : taskName;
}
