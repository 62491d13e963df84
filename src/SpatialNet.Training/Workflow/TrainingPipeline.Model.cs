using SpatialNet.Heads;
using SpatialNet.Models;
using SpatialNet.Modules;
using SpatialNet.Training.Evaluation;
using SpatialNet.Training.Text;

namespace SpatialNet.Training.Workflow;

// The model a configuration describes, built from its resolved tasks: shared by training (tasks
// resolved against the data) and inference (tasks read back from a run folder's data.json).
public static partial class TrainingPipeline
{
    /// <summary>One task resolved against the data: its head and how it is scored.</summary>
    internal sealed record ResolvedTask(TaskConfig Config, TaskKind ScoredAs, int Classes, IReadOnlyList<string>? Labels, int Outputs)
    {
        private readonly IReadOnlyList<double>? _targetMean;
        private readonly IReadOnlyList<double>? _targetStd;

        /// <summary>vqa: the question encoder of the task's source.</summary>
        public TextEncoder? Questions { get; init; }

        /// <summary>caption: the caption encoder of the task's UCM-caption source.</summary>
        public TextEncoder? Captions { get; init; }

        /// <summary>caption: the sample entry holding the caption ids.</summary>
        public string? CaptionInput { get; init; }

        /// <summary>Target statistics of the training split (set by the pipeline's scan).</summary>
        public TargetStatistics? Statistics { get; set; }

        /// <summary>Per-output target mean (regression normalisation): the statistics', or as read from a run folder.</summary>
        public IReadOnlyList<double>? TargetMean { get => _targetMean ?? Statistics?.Mean; init => _targetMean = value; }

        /// <summary>Per-output target standard deviation: the statistics', or as read from a run folder.</summary>
        public IReadOnlyList<double>? TargetStd { get => _targetStd ?? Statistics?.Std; init => _targetStd = value; }
    }

    /// <summary>The Vision Transformer a model configuration describes (timm initialisation, no pretrained weights).</summary>
    internal static VisionTransformer CreateEncoder(ModelConfig m) => new(new VisionTransformerOptions
    {
        ImageSize = m.ImageSize,
        PatchSize = m.PatchSize,
        InChannels = m.InChannels,
        EmbedDim = m.EmbedDim,
        Depth = m.Depth,
        NumHeads = m.NumHeads,
        MlpRatio = m.MlpRatio,
        Activation = m.Activation == "relu" ? MlpActivation.Relu : MlpActivation.Gelu,
        ClassToken = m.ClassToken,
        GlobalPool = m.ClassToken ? GlobalPool.Token : GlobalPool.Average,
        DropRate = m.DropRate,
        DropPathRate = m.DropPathRate,
    });

    internal static TaskKind HeadKind(ResolvedTask t) =>
        t.ScoredAs == TaskKind.VisualQuestionAnswering && t.Config.QuestionAgnostic ? TaskKind.Classification : t.ScoredAs;

    internal static TaskHead CreateHead(ResolvedTask t, TokenLayout layout, int numHeads)
    {
        var c = t.Config;
        PoolingKind? pooling = c.Pooling switch
        {
            "class_token" => PoolingKind.ClassToken,
            "mean" => PoolingKind.Mean,
            "attention" => PoolingKind.Attention,
            _ => null,
        };
        switch (t.ScoredAs)
        {
            case TaskKind.Captioning:
                return (c.Caption ?? new CaptionTaskConfig()).CreateHead(c, layout, t.Captions!, t.CaptionInput!, numHeads);
            case TaskKind.Regression:
            {
                // Each output normalised with its own statistics.
                var means = Enumerable.Range(0, t.Outputs).Select(k =>
                    c.NormalizeTargets && t.TargetMean is { } mu && k < mu.Count && double.IsFinite(mu[k]) ? mu[k] : 0.0).ToArray();
                var stds = Enumerable.Range(0, t.Outputs).Select(k =>
                    c.NormalizeTargets && t.TargetStd is { } sd && k < sd.Count && sd[k] > 1e-6 && double.IsFinite(sd[k]) ? sd[k] : 1.0).ToArray();
                return new RegressionHead(c.Name, layout, new RegressionHeadOptions
                {
                    Outputs = t.Outputs,
                    TargetMean = means[0],
                    TargetStd = stds[0],
                    TargetMeans = t.Outputs > 1 ? means : null,
                    TargetStds = t.Outputs > 1 ? stds : null,
                    Pooling = pooling,
                    Dropout = c.Dropout,
                    LossWeight = c.LossWeight,
                });
            }
            case TaskKind.VisualQuestionAnswering when !c.QuestionAgnostic:
                return new VqaHead(c.Name, layout, new VqaHeadOptions
                {
                    NumAnswers = t.Classes,
                    VocabSize = t.Questions!.Vocabulary.Count,
                    MaxLength = t.Questions.MaxLength,
                    PadId = Text.Vocabulary.PadId,
                    Depth = c.TextDepth,
                    NumHeads = numHeads,
                    Fusion = c.Fusion == "elementwise_product" ? VqaFusionKind.ElementwiseProduct : VqaFusionKind.CrossAttention,
                    FusionDepth = c.FusionDepth,
                    ClassifierHiddenDim = c.ClassifierHidden ?? new VqaHeadOptions().ClassifierHiddenDim,
                    TextDropRate = c.TextDropout,
                    CountRegression = c.CountLossWeight > 0,
                    CountLossWeight = c.CountLossWeight > 0 ? c.CountLossWeight : 1.0,
                    CountInput = Data.SampleKeys.Count,
                    LabelSmoothing = c.LabelSmoothing,
                    Pooling = pooling,
                    Dropout = c.Dropout,
                    LossWeight = c.LossWeight,
                });
            case TaskKind.MultiLabel:
                return new MultiLabelHead(c.Name, layout, new MultiLabelHeadOptions
                {
                    NumLabels = t.Outputs,
                    Pooling = pooling,
                    Dropout = c.Dropout,
                    LossWeight = c.LossWeight,
                });
            default:
                return new ClassificationHead(c.Name, layout, new ClassificationHeadOptions
                {
                    NumClasses = t.Classes,
                    LabelSmoothing = c.LabelSmoothing,
                    Pooling = pooling,
                    Dropout = c.Dropout,
                    LossWeight = c.LossWeight,
                });
        }
    }
}
