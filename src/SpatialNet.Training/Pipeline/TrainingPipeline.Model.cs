using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SpatialNet.DependencyInjection;
using SpatialNet.Heads;
using SpatialNet.Modules;
using SpatialNet.Training.Configuration;
using SpatialNet.Training.Data;
using SpatialNet.Training.Evaluation;
using SpatialNet.Training.Text;

namespace SpatialNet.Training.Pipeline;

// The model a configuration describes, built from its resolved tasks: shared by training (tasks
// resolved against the data) and inference (tasks read back from a run folder's data.json).
public sealed partial class TrainingPipeline
{
    /// <summary>One task resolved against the data: its head and how it is scored.</summary>
    internal sealed record ResolvedTask(TaskOptions Config, TaskKind ScoredAs, int Classes, IReadOnlyList<string>? Labels, int Outputs)
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

    internal static TaskKind HeadKind(ResolvedTask t) =>
        t.ScoredAs == TaskKind.VisualQuestionAnswering && t.Config.QuestionAgnostic ? TaskKind.Classification : t.ScoredAs;

    /// <summary>
    /// The model's registrations: the same <c>AddSpatialNet(configuration)</c> a host uses, with the sizes only
    /// the data knows (classes, vocabularies, target statistics) filled in from <paramref name="tasks"/>.
    /// </summary>
    internal static ServiceProvider BuildModelServices(IConfiguration configuration, IReadOnlyList<ResolvedTask> tasks, VisionTransformerOptions m, ulong seed)
    {
        var services = new ServiceCollection();
        services.AddSpatialNet(configuration, sn =>
        {
            foreach (var t in tasks.Where(t => t.ScoredAs == TaskKind.VisualQuestionAnswering && t.Config.QuestionAgnostic))
            {
                sn.UseHead(t.Config.Name, (sp, layout) =>
                {
                    var vqa = sp.GetRequiredService<IOptionsMonitor<VqaHeadOptions>>().Get(t.Config.Name);
                    return new ClassificationHead(t.Config.Name, layout, new ClassificationHeadOptions
                    {
                        NumClasses = vqa.NumAnswers,
                        LabelSmoothing = vqa.LabelSmoothing,
                        Pooling = vqa.Pooling,
                        Dropout = vqa.Dropout,
                        LossWeight = vqa.LossWeight,
                    });
                });
            }
        }, TaskOptions.TrainingKeys);
        var taskSections = (StrictConfigurationBinder.Child(configuration, "tasks") ?? configuration.GetSection("tasks")).GetChildren().ToList();
        for (int i = 0; i < tasks.Count; i++)
            FillFromData(services, tasks[i], StrictConfigurationBinder.Child(taskSections[i], "head"), m);
        if (StrictConfigurationBinder.Child(configuration.GetSection("loss"), "pc_grad_seed") is null)
            services.PostConfigure<SpatialNetOptions>(o => o.PCGradSeed = unchecked((int)seed));
        return services.BuildServiceProvider();
    }

    // The head sizes the data decides, filled into the task's options after configuration binding.
    private static void FillFromData(ServiceCollection services, ResolvedTask t, IConfigurationSection? head, VisionTransformerOptions model)
    {
        var c = t.Config;
        bool Has(string key) => head is not null && StrictConfigurationBinder.Child(head, key) is not null;
        switch (t.ScoredAs)
        {
            case TaskKind.Captioning:
                services.PostConfigure<CaptionHeadOptions>(c.Name, o =>
                {
                    t.Captions!.ConfigureCaptionHead(o);
                    o.CaptionInput = t.CaptionInput!;
                    if (!Has("num_heads"))
                        o.NumHeads = model.NumHeads;
                });
                break;
            case TaskKind.Regression:
                services.PostConfigure<RegressionHeadOptions>(c.Name, o =>
                {
                    // Each output normalised with its own statistics of the training split.
                    o.Outputs = t.Outputs;
                    if (!c.NormalizeTargets || t.TargetMean is null || t.TargetStd is null)
                        return;
                    var means = Enumerable.Range(0, t.Outputs).Select(k =>
                        t.TargetMean is { } mu && k < mu.Count && double.IsFinite(mu[k]) ? mu[k] : 0.0).ToArray();
                    var stds = Enumerable.Range(0, t.Outputs).Select(k =>
                        t.TargetStd is { } sd && k < sd.Count && sd[k] > 1e-6 && double.IsFinite(sd[k]) ? sd[k] : 1.0).ToArray();
                    o.TargetMean = means[0];
                    o.TargetStd = stds[0];
                    o.TargetMeans = t.Outputs > 1 ? means : null;
                    o.TargetStds = t.Outputs > 1 ? stds : null;
                });
                break;
            case TaskKind.VisualQuestionAnswering:
                services.PostConfigure<VqaHeadOptions>(c.Name, o =>
                {
                    o.NumAnswers = t.Classes;
                    o.VocabSize = t.Questions!.Vocabulary.Count;
                    o.MaxLength = t.Questions.MaxLength;
                    o.PadId = Text.Vocabulary.PadId;
                    if (!Has("num_heads"))
                        o.NumHeads = model.NumHeads;
                    if (!Has("count_input"))
                        o.CountInput = SampleKeys.Count;
                });
                break;
            case TaskKind.MultiLabel:
                services.PostConfigure<MultiLabelHeadOptions>(c.Name, o => o.NumLabels = t.Outputs);
                break;
            default:
                services.PostConfigure<ClassificationHeadOptions>(c.Name, o => o.NumClasses = t.Classes);
                break;
        }
    }
}
