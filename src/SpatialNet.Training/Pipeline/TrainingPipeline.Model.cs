using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using SpatialNet.DependencyInjection;
using SpatialNet.Heads;
using SpatialNet.Heads.Dense;
using SpatialNet.Modules;
using SpatialNet.Training.Configuration;
using SpatialNet.Training.Data;
using SpatialNet.Training.Evaluation;
using SpatialNet.Training.Text;

namespace SpatialNet.Training.Pipeline;

// The model a configuration describes, built from its tasks once the data has filled in their sizes:
// shared by training (sizes from the data) and inference (sizes read back from a run folder's data.json).
public sealed partial class TrainingPipeline
{
    /// <summary>
    /// The runtime description of a configured task: its bound options with the data's sizes in the
    /// head options. A question-agnostic vqa task is described by the image-only answer classifier it trains.
    /// </summary>
    internal static TaskDefinition Describe(TaskOptions options, IReadOnlyList<string>? labels)
    {
        var kind = options.ParsedKind ?? throw new ConfigurationException($"Task '{options.Name}': kind = \"{options.Kind}\" is unknown.");
        var head = options.Head;
        if (kind == TaskKind.VisualQuestionAnswering && options.QuestionAgnostic && head is VqaHeadOptions vqa)
        {
            head = new ClassificationHeadOptions
            {
                NumClasses = vqa.NumAnswers,
                LabelSmoothing = vqa.LabelSmoothing,
                Pooling = vqa.Pooling,
                Dropout = vqa.Dropout,
                LossWeight = vqa.LossWeight,
            };
        }
        return new TaskDefinition(options.Name, kind, head.LossWeight)
        {
            Head = head, Metrics = options.Metrics?.ToArray(), Labels = labels, KindRegistration = options.KindRegistration,
        };
    }

    /// <summary>Writes the sizes the data decides into the task's head options: classes or answers, outputs, text vocabularies.</summary>
    internal static void FillHead(TaskOptions options, int classes, int outputs, TextEncoder? text, string? captionInput)
    {
        switch (options.Head)
        {
            case CaptionHeadOptions c:
                text?.ConfigureCaptionHead(c);
                if (captionInput is not null)
                    c.CaptionInput = captionInput;
                break;
            case VqaHeadOptions v:
                v.NumAnswers = classes;
                if (text is not null)
                {
                    v.VocabSize = text.Vocabulary.Count;
                    v.MaxLength = text.MaxLength;
                    v.PadId = Vocabulary.PadId;
                }
                break;
            case RegressionHeadOptions r:
                r.Outputs = outputs;
                break;
            case MultiLabelHeadOptions l:
                l.NumLabels = outputs;
                break;
            case ClassificationHeadOptions c:
                c.NumClasses = classes;
                break;
            case SegmentationHeadOptions s:
                s.NumClasses = classes;
                break;
        }
    }

    /// <summary>Regression: Eq. (8) on t' = (t − μ)/σ with each output's training mean and standard deviation (when <c>normalize_targets</c>).</summary>
    internal static void NormalizeTargets(TaskOptions options, IReadOnlyList<double>? mean, IReadOnlyList<double>? std)
    {
        if (options.Head is not RegressionHeadOptions o || !options.NormalizeTargets || mean is null || std is null)
            return;
        var means = Enumerable.Range(0, o.Outputs).Select(k => k < mean.Count && double.IsFinite(mean[k]) ? mean[k] : 0.0).ToArray();
        var stds = Enumerable.Range(0, o.Outputs).Select(k => k < std.Count && std[k] > 1e-6 && double.IsFinite(std[k]) ? std[k] : 1.0).ToArray();
        o.TargetMean = means[0];
        o.TargetStd = stds[0];
        o.TargetMeans = o.Outputs > 1 ? means : null;
        o.TargetStds = o.Outputs > 1 ? stds : null;
    }

    /// <summary>Classes of a task's head: classes, answers, or the caption vocabulary; 0 for value tasks.</summary>
    internal static int Classes(TaskDefinition t) => t.Head switch
    {
        ClassificationHeadOptions c => c.NumClasses,
        VqaHeadOptions v => v.NumAnswers,
        CaptionHeadOptions c => c.VocabSize,
        SegmentationHeadOptions s => s.NumClasses,
        _ => 0,
    };

    /// <summary>Values per image of a regression or multi-label head; 1 otherwise.</summary>
    internal static int Outputs(TaskDefinition t) => t.Head switch
    {
        RegressionHeadOptions r => r.Outputs,
        MultiLabelHeadOptions l => l.NumLabels,
        _ => 1,
    };

    /// <summary>The kind of a task's head (a vqa task answered from the image alone has a classification head).</summary>
    internal static TaskKind HeadKind(TaskDefinition t) => TaskPredictionSet.AnswersFromImageOnly(t) ? TaskKind.Classification : t.Kind;

    /// <summary>
    /// The model's registrations: the same <c>AddSpatialNet(configuration)</c> a host uses, with the sizes only
    /// the data knows (classes, vocabularies, target statistics) filled in from the tasks' head options.
    /// </summary>
    internal static ServiceProvider BuildModelServices(IConfiguration configuration, IReadOnlyList<TaskOptions> options, IReadOnlyList<TaskDefinition> tasks,
        VisionTransformerOptions m, ulong seed, RunComponents? components = null)
    {
        // The kinds and composers the run may name (built-ins and the host's), registered before AddSpatialNet reads the tasks.
        var services = new ServiceCollection();
        components ??= RunComponents.BuiltIn;
        foreach (var kind in components.Kinds)
            services.AddTaskKind(kind);
        foreach (var composer in components.Composers)
            composer.RegisterIn(services);
        services.AddSpatialNet(configuration, sn =>
        {
            foreach (var t in tasks.Where(TaskPredictionSet.AnswersFromImageOnly))
                sn.UseHead(t.Name, (_, layout) => new ClassificationHead(t.Name, layout, (ClassificationHeadOptions)t.Head!));
        }, TaskOptions.TrainingKeys);
        var taskSections = (StrictConfigurationBinder.Child(configuration, "tasks") ?? configuration.GetSection("tasks")).GetChildren().ToList();
        for (int i = 0; i < options.Count; i++)
            FillFromData(services, options[i], StrictConfigurationBinder.Child(taskSections[i], "head"), m);
        // The random draws of PCGrad, GradVac, GradDrop and RLW follow the run's seed unless loss:<name>:seed sets them.
        void SeedFromRun<TOptions>(string name) where TOptions : class, Losses.ISeededComposerOptions
        {
            var composer = LossComposerRegistry.Find(LossComposerRegistry.Of(services), name);
            if (composer is null || composer.OptionsType != typeof(TOptions))
                return;
            var section = configuration.GetSection("loss").GetChildren().FirstOrDefault(c => composer.IsNamed(c.Key));
            if (section is null || StrictConfigurationBinder.Child(section, "seed") is null)
                services.PostConfigure<TOptions>(composer.Name, o => o.Seed = unchecked((int)seed));
        }

        SeedFromRun<Losses.PCGradOptions>("pcgrad");
        SeedFromRun<Losses.GradVacOptions>("gradvac");
        SeedFromRun<Losses.GradDropOptions>("graddrop");
        SeedFromRun<Losses.RandomLossWeightingOptions>("rlw");
        return services.BuildServiceProvider();
    }

    // The head sizes the data decided (in the task's bound head options), copied into the options the container binds.
    private static void FillFromData(ServiceCollection services, TaskOptions task, IConfigurationSection? section, VisionTransformerOptions model)
    {
        bool Has(string key) => section is not null && StrictConfigurationBinder.Child(section, key) is not null;
        switch (task.Head)
        {
            case CaptionHeadOptions h:
                services.PostConfigure<CaptionHeadOptions>(task.Name, o =>
                {
                    (o.VocabSize, o.MaxLength, o.PadId, o.BosId, o.EosId, o.CaptionInput) = (h.VocabSize, h.MaxLength, h.PadId, h.BosId, h.EosId, h.CaptionInput);
                    if (!Has("num_heads"))
                        o.NumHeads = model.NumHeads;
                });
                break;
            case RegressionHeadOptions h:
                services.PostConfigure<RegressionHeadOptions>(task.Name, o =>
                    (o.Outputs, o.TargetMean, o.TargetStd, o.TargetMeans, o.TargetStds) = (h.Outputs, h.TargetMean, h.TargetStd, h.TargetMeans, h.TargetStds));
                break;
            case VqaHeadOptions h:
                services.PostConfigure<VqaHeadOptions>(task.Name, o =>
                {
                    (o.NumAnswers, o.VocabSize, o.MaxLength, o.PadId) = (h.NumAnswers, h.VocabSize, h.MaxLength, h.PadId);
                    if (!Has("num_heads"))
                        o.NumHeads = model.NumHeads;
                    if (!Has("count_input"))
                        o.CountInput = SampleKeys.Count;
                });
                break;
            case MultiLabelHeadOptions h:
                services.PostConfigure<MultiLabelHeadOptions>(task.Name, o => o.NumLabels = h.NumLabels);
                break;
            case ClassificationHeadOptions h:
                services.PostConfigure<ClassificationHeadOptions>(task.Name, o =>
                {
                    o.NumClasses = h.NumClasses;
                    o.ClassWeights = h.ClassWeights;
                });
                break;
            case SegmentationHeadOptions h:
                services.PostConfigure<SegmentationHeadOptions>(task.Name, o => o.NumClasses = h.NumClasses);
                break;
        }
    }
}
